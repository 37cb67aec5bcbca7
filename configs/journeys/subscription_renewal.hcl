# Subscription renewal reminder: seven days before a subscription renews,
# at 10:00 in the customer's timezone, an email saying when it renews and
# how to change or cancel it. Every renewal schedules the next reminder; a
# cancellation, or a cancellation scheduled for the period's end, stops it.
#
# Needs: a channel named "email". Events (the stripe kind maps them; other
# billing systems through json or standard with the same properties):
#   - subscription.created, subscription.renewed, subscription.updated with
#     properties.current_period_end: when the period ends and the
#     subscription renews, as Stripe sends it (Unix seconds) or RFC 3339;
#   - subscription.cancelled and subscription.expiring (Stripe's
#     cancel_at_period_end): no renewal is coming.
# The customer's `timezone` trait (IANA name) sets the local hour; UTC
# without one.
#
# Policies: transactional. A notice before an automatic charge is one the
# customer must get (and in many places one the law requires), so it
# skips consent, caps and quiet hours: customers who unsubscribed from
# marketing still get it. Suppressions (hard bounce, spam complaint) and
# dedupe still apply; each renewal is reminded once (the fire is keyed by
# the reminder's date).
#
# Adjust: `offset` (30 days is usual for yearly plans), `at`, the account
# URL. Limits of the date plugin: it has no `when`, so every plan is
# reminded, monthly ones included; and it keeps one date per customer, so a
# customer with two subscriptions is reminded of the one whose event came
# last. Fire data carries the dates only: the copy cannot name the plan or
# the amount.

template "subscription_renewal_reminder" {
  subject = "Your subscription renews on {{ .Fire.occurs_on }}"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    A quick heads-up: your subscription renews automatically on
    {{ .Fire.occurs_on }}, and the payment method on file will be charged
    then.

    Nothing to do if you'd like to continue. To change your plan, update
    your payment details or cancel before the renewal, visit
    https://example.com/account/billing

    Thanks for being a subscriber!
    EOT
}

trigger "subscription_renewal" {
  plugin        = "date"
  transactional = true
  config {
    on        = ["subscription.created", "subscription.renewed", "subscription.updated"]
    property  = "current_period_end"
    cancel_on = ["subscription.cancelled", "subscription.expiring"]
    # Seven calendar days before the renewal date, at 10:00 local.
    offset = "-7d"
    at     = "10:00"
    repeat = "once" # each renewal event sets the next date
    step   = "reminder"
  }
  action {
    channel  = "email"
    template = "subscription_renewal_reminder"
  }
}
