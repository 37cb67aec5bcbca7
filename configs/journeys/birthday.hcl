# Birthday: a happy-birthday email with a gift code at 09:00 on the
# customer's birthday, in the customer's own timezone, every year.
#
# Needs: a channel named "email". Data, not events: a `birthday` trait on
# the profile ("1990-03-14", "03-14" without a year, or
# "1990-03-14T00:00:00Z" as CRMs write a plain date) and, for the local
# hour, a `timezone` trait with an IANA name ("Europe/Paris"); without one
# the policy's default_timezone applies to quiet hours and UTC to the send.
# Any event can carry traits: customer.created / customer.updated from
# Shopify, Stripe, WooCommerce, Salesforce or a Segment identify call, or
# your app through a json source. The trait is read on every event, so a
# corrected birthday moves the send and a removed one (null or "") cancels
# it. `first_name` is used when known.
#
# Policies: marketing. Consent applies (email.unsubscribed stops it). 09:00
# local is outside the usual quiet hours (21:00-08:00), so the email goes
# out on the day. One birthday email per customer per 300 days: customers
# who edit their birthday in their account do not collect a second gift.
#
# Adjust: `at` for the hour, the gift code and its terms, the cap (keep
# `per` under a year, or next year's birthday is held back).

template "birthday_greeting" {
  subject = "Happy birthday, {{ or (index .Customer.Traits \"first_name\") \"friend\" }}! A gift inside"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Happy birthday from all of us{{ with index .Fire "years" }} ({{ . }} candles, not that we're counting){{ end }}!

    To celebrate, here's 15% off anything you like: use code BDAY15 at
    checkout. It's valid for the next 14 days, just for you.

    Have a wonderful day.
    EOT
}

trigger "birthday" {
  plugin = "date"
  config {
    trait = "birthday"
    # Every year, at 09:00 in the customer's timezone (these are the
    # defaults, written out because they are the journey).
    repeat = "yearly"
    at     = "09:00"
    step   = "greeting"
  }
  action {
    channel  = "email"
    template = "birthday_greeting"
  }
  # The fire is keyed by the occurrence's date, so replays never send twice;
  # this cap is about a birthday that is changed to a later day.
  frequency_cap {
    max = 1
    per = "300d"
  }
}
