# High-value exclusive offer: customers who have ordered at least three
# times with an average basket of 200 or more get an invitation to a
# members-only offer when they reach that segment, and again if they drop
# out and come back, at most once per quarter.
#
# Needs: a channel named "email". Events: order.placed with
# properties.value (Shopify, WooCommerce, Stripe Checkout, Segment "Order
# Completed", or json); the gateway counts the order into the profile's
# orders_count and average_order_value before the rule looks, so the order
# that qualifies triggers the offer. `first_name` is used when known.
#
# Policies: marketing. Consent, the policy's caps and quiet hours apply (an
# order placed late at night gets the invitation in the morning, in the
# customer's `timezone`). A 10% holdout never gets the offer, so the KPIs
# show the lift it brings over the same customers left alone; the holdout
# is the same customers every time.
#
# Adjust: the segment (orders, average basket), the re-entry delay, the
# offer, the holdout share (0 to switch off measurement).

template "high_value_offer_invitation" {
  subject = "An exclusive offer for our best customers"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    You're one of our most valued customers, and we'd like to say thank
    you with something we don't offer anyone else: 20% off our new
    collection, 48 hours before it goes on sale, with the code INSIDER20.

    Your private preview: https://example.com/insiders

    The code is yours alone and valid for 7 days.
    EOT
}

trigger "high_value_offer" {
  plugin  = "segment"
  holdout = 0.1
  config {
    condition = customer.orders_count >= 3 && customer.average_order_value >= 200
    # Only orders change the figures the condition reads.
    on         = ["order.placed"]
    enter_step = "invitation"
    # Dropping below the average and climbing back within a quarter is
    # recorded but sends no second invitation.
    reentry_after = "90d"
  }
  action {
    channel  = "email"
    template = "high_value_offer_invitation"
  }
}
