# At-risk re-engagement: when your churn model marks a customer as likely
# to leave (a churn_score of 0.7 or more), they get a "we'd love to keep
# you" email with an incentive. A customer who recovers and slips back
# gets it again, but not within 60 days of the last one.
#
# Needs: a channel named "email". Data, not events: a numeric
# `churn_score` trait between 0 and 1, written onto the profile by your
# data pipeline (a Segment identify call, a reverse-ETL sync, or your app
# through a json source: any event carrying traits, e.g. customer.updated).
# The expression language has no clock, so "at risk" must come from the
# profile; for "no visit in N days" use the inactivity plugin instead (see
# account_inactivity.hcl). `first_name` is used when known.
#
# Policies: marketing. Consent and the policy's caps apply. Scores usually
# arrive in a nightly batch: quiet hours in the customer's timezone (the
# `timezone` trait) hold the email until the morning rather than send it
# at 02:00. A 10% holdout never gets it, so the KPIs measure how many
# at-risk customers the email actually keeps.
#
# Adjust: the score threshold, the incentive, the re-entry delay, the
# holdout share.

template "at_risk_reengagement_offer" {
  subject = "{{ or (index .Customer.Traits \"first_name\") \"Hi\" }}, we'd love to keep you"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    It's been a while, and we'd like to make things right if anything
    hasn't lived up to your expectations. Tell us in one click what would
    make us better: https://example.com/feedback

    And if you'd like to give us another try, here's 20% off your next
    order with the code STAYWITHUS, valid for 14 days.
    EOT
}

trigger "at_risk_reengagement" {
  plugin  = "segment"
  holdout = 0.1
  config {
    # try(): customers the model has not scored yet are not at risk.
    condition  = try(customer.traits.churn_score, 0) >= 0.7
    enter_step = "offer"
    # A score that flickers around the threshold sends nothing more
    # within 60 days of the last offer.
    reentry_after = "60d"
    # `on` is left at every event: traits can arrive on any of them.
  }
  action {
    channel  = "email"
    template = "at_risk_reengagement_offer"
  }
}
