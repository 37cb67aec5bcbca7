# Welcome back: when a customer who had been away for at least 60 days
# visits or orders again, one email welcoming them back with what's new
# and free shipping on their next order. Nothing is sent while they are
# away (the rescue_campaign and lost_customer journeys do that).
#
# Events that count as the customer being around: page.viewed,
# product.viewed, search.performed, cart.updated, checkout.started,
# checkout.updated, order.placed and content.engaged (Shopify, WooCommerce,
# Segment, your app). Our own emails' events (delivered, opened, clicked)
# and record syncs (customer.updated) do not count: an email opened by a
# mail client on its own is not a visit. Customers are tracked from their
# first such event.
#
# Needs: a channel named "email".
#
# Policies (configs/README.md §2): marketing, so consent, the policy's
# email caps and quiet hours apply: a return at 23:00 local time is
# welcomed at 08:00. At most one welcome back per customer in 180 days,
# so a customer who drifts away every two months does not learn to wait
# for free shipping.
#
# Adjust: how long "away" is (after), what counts as being around (on),
# the code FREESHIP and the links.

template "welcome_back_email" {
  subject = "Welcome back! Shipping's on us this week"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Good to see you again: it's been {{ .Fire.inactive_days }} days!

    A few things are new since your last visit:
    https://shop.example/new

    To celebrate, shipping is free on your next order with code FREESHIP,
    valid for 7 days.

    The Shop team
    EOT
}

trigger "welcome_back" {
  plugin = "inactivity"
  config {
    on = [
      "page.viewed", "product.viewed", "search.performed", "cart.updated",
      "checkout.started", "checkout.updated", "order.placed", "content.engaged",
    ]
    after = "60d"
    # A marker only: no action sends it. It tells the rule the customer
    # was away, so that their next visit fires returned_step.
    step          = "away"
    returned_step = "welcome_back"
  }
  action {
    channel  = "email"
    template = "welcome_back_email"
    steps    = ["welcome_back"]
  }
  frequency_cap {
    max = 1
    per = "180d"
  }
}
