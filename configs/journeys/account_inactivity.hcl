# Account inactivity: customers who stop using their account hear from us
# 30 days after their last visit ("here's what you've missed"), and once
# more at 60 days; then nothing until they are back. Any visit restarts the
# clock, so the second email never reaches someone who came back.
#
# Needs: a channel named "email". Events that count as a visit:
# account.signed_in (your app, through a json or standard source that
# declares it: event_types = ["account.signed_in"]), segment.signed_in
# (a Segment "Signed In" track call; needs a segment source), page.viewed
# (Segment page calls), account.signed_up and order.placed. A customer is
# tracked from their first such event: nobody is emailed for never
# having visited. `first_name` is used when known.
#
# Policies: marketing. Consent applies (email.unsubscribed stops it, and
# our own email events never count as a visit); quiet hours defer an email
# due at night in the customer's timezone (the `timezone` trait) to the
# morning: the steps come due at the time of day of the last visit. At most
# two of these emails per customer in 90 days, so that someone who visits
# about once a month is not nudged every month.
#
# Adjust: the delays, the events that count as a visit, the copy.

template "account_inactivity_nudge" {
  subject = "{{ or (index .Customer.Traits \"first_name\") \"Hey\" }}, here's what you've missed"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    It's been {{ .Fire.inactive_days }} days since we last saw you. Since then
    we've shipped new features and fresh content that we think you'll like.

    Jump back in: https://example.com/login
    EOT
}

template "account_inactivity_last_call" {
  subject = "Should we stop writing?"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    We haven't seen you in {{ .Fire.inactive_days }} days. Your account and
    everything in it are still here whenever you want them:
    https://example.com/login

    This is the last reminder we'll send about it. If your needs have
    changed, you can manage your email preferences from your account.
    EOT
}

trigger "account_inactivity" {
  plugin = "inactivity"
  config {
    on    = ["account.signed_in", "segment.signed_in", "page.viewed", "account.signed_up", "order.placed"]
    after = "30d"
    step  = "nudge"
    then {
      step  = "last_call"
      after = "60d"
    }
  }
  action {
    channel  = "email"
    template = "account_inactivity_nudge"
    steps    = ["nudge"]
  }
  action {
    channel  = "email"
    template = "account_inactivity_last_call"
    steps    = ["last_call"]
  }
  frequency_cap {
    max = 2
    per = "90d"
  }
}
