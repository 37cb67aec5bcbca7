# Password reset confirmation: a security notice, sent at once, telling the
# customer their password was just changed and what to do if it was not
# them.
#
# Needs: a channel named "email". Events: account.password_reset, sent by
# your own app through a json or standard source once the new password is
# saved (no vendor kind emits it; see configs/README.md §5). Optional
# properties, shown when present: ip, device (e.g. "Firefox on Windows"),
# location (e.g. "Lyon, France"); and the first_name trait.
#
# The reset *link* is not sent from here: it carries a secret token that
# only your app should handle. If your app emits account.password_reset
# when a reset is requested instead, send the link yourself and point this
# trigger at the event that says the password changed.
#
# Policies (configs/README.md §2): transactional. A security notice must
# not wait for the morning, nor be skipped because the customer
# unsubscribed from marketing or had many emails this week. Only a
# suppressed address (hard bounce, spam complaint) stops it; every reset
# sends its own notice, and a redelivered webhook does not send twice.
#
# Adjust: the URLs and the support address. To text the customer as well
# (useful when the mailbox itself may be compromised), add an action with
# channel = "sms" and a short template, but only if every account has a
# phone number: a message to a customer without one fails.

template "password_reset" {
  subject = "Your password was changed"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    The password of your account {{ .Customer.Email }} was changed on
    {{ .Event.OccurredAt.Format "2 January 2006 at 15:04 MST" }}.
    {{- with index .Event.Properties "device" }}
    Device: {{ . }}{{ end }}
    {{- with index .Event.Properties "location" }}
    Location: {{ . }}{{ end }}
    {{- with index .Event.Properties "ip" }}
    IP address: {{ . }}{{ end }}

    If this was you, there is nothing more to do.

    If it was not you, reset your password right away at
    https://shop.example/account/password/forgot and review your account at
    https://shop.example/account/security, then tell us at
    security@shop.example so that we can help.

    This is a security notice about your account: it is sent even if you
    have unsubscribed from our newsletters.
    EOT
}

trigger "password_reset" {
  plugin = "event"
  # Transactional: no consent check, no caps, no quiet hours (and neither
  # frequency_cap nor holdout may be set).
  transactional = true
  config {
    on   = ["account.password_reset"]
    step = "confirmation"
    # Without an address the message could only fail (dead-letter queue).
    when = customer.email != ""
  }
  action {
    channel  = "email"
    template = "password_reset"
  }
}
