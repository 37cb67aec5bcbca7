# Purchase anniversary: a thank-you email on the anniversary of the
# customer's first order, every year, at 10:00 in the customer's timezone,
# with a small anniversary discount.
#
# Needs: a channel named "email". Events: order.placed (Shopify,
# WooCommerce, Stripe Checkout, Segment "Order Completed", or json); its
# occurred_at is the purchase date, taken as a calendar date in the
# customer's timezone (the `timezone` trait, IANA name; UTC without one).
# customer.deleted (Shopify, Stripe, WooCommerce) ends the anniversaries.
# `first_name` is used when known.
#
# Policies: marketing. Consent applies (email.unsubscribed stops it); 10:00
# local is outside the usual quiet hours; the policy's email caps count it.
# The fire is keyed by the occurrence's date, so each anniversary is sent
# at most once however often events are replayed.
#
# Adjust: `at`, the discount code. The rule only knows orders placed while
# it is configured: customers whose first order came before see their
# anniversary counted from their first order after the rule went live
# (the profile keeps no first-order date to start from).

template "purchase_anniversary_thanks" {
  subject = "Happy anniversary, {{ or (index .Customer.Traits \"first_name\") \"friend\" }} - thank you!"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    On {{ .Fire.date }} you placed your first order with us{{ with index .Fire "years" }},
    {{ . }} year(s) ago today{{ end }}. Thank you for sticking with us!

    To celebrate our anniversary, here's 10% off your next order with the
    code THANKYOU10, valid for 30 days.
    EOT
}

trigger "purchase_anniversary" {
  plugin = "date"
  config {
    on       = ["order.placed"]
    property = "occurred_at"
    # The first order counts, not the latest: later orders do not move
    # the date (an earlier order that arrives late does).
    first_only = true
    repeat     = "yearly"
    at         = "10:00"
    cancel_on  = ["customer.deleted"]
    step       = "anniversary"
  }
  action {
    channel  = "email"
    template = "purchase_anniversary_thanks"
  }
}
