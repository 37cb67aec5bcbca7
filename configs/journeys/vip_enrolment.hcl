# VIP enrolment: when a customer's lifetime spend reaches 1000, they are
# welcomed into the VIP programme by email, and the customer-care team
# hears about it in Slack. Once per customer, ever.
#
# Needs: channels named "email" and "slack" (drop the second trigger
# without Slack). Events: order.placed with properties.value (Shopify,
# WooCommerce, Stripe Checkout, Segment "Order Completed", or json); the
# gateway adds each order's value to the profile's lifetime_value before
# the rule looks, so the order that crosses the line enrols. Refunds are
# not subtracted. `first_name` is used when known.
#
# Policies: the welcome email is marketing: consent applies, and quiet
# hours in the customer's timezone (the `timezone` trait) hold an order
# placed late at night until the morning. The Slack notice is internal,
# so it is transactional: it goes out at once and no customer's consent,
# caps or quiet hours hold it back.
#
# Adjust: the threshold (in both triggers), the perks, the Slack copy.
# Orders in several currencies add up as plain numbers.

template "vip_enrolment_welcome" {
  subject = "Welcome to VIP, {{ or (index .Customer.Traits \"first_name\") \"friend\" }}"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Thank you for being such a loyal customer. Your orders with us now add
    up to {{ printf "%.2f" .Customer.Stats.LifetimeValue }}, and that makes
    you a VIP. From today you get:

      - free express shipping on every order
      - early access to new collections and sales
      - a dedicated customer-care line: reply to this email anytime

    Welcome to the club!
    EOT
}

template "vip_enrolment_team_notice" {
  text = "New VIP: {{ .Customer.Email }} ({{ .Customer.ID }}), lifetime spend {{ printf \"%.2f\" .Customer.Stats.LifetimeValue }} over {{ .Customer.Stats.OrdersCount }} orders. Enrolled {{ .Fire.entered_at }}."
}

trigger "vip_enrolment" {
  plugin = "segment"
  config {
    condition = customer.lifetime_value >= 1000
    # Only orders change lifetime_value.
    on         = ["order.placed"]
    once       = true
    enter_step = "welcome"
  }
  action {
    channel  = "email"
    template = "vip_enrolment_welcome"
  }
}

trigger "vip_enrolment_team" {
  plugin        = "segment"
  transactional = true # internal notice, not marketing to the customer
  config {
    condition  = customer.lifetime_value >= 1000
    on         = ["order.placed"]
    once       = true
    enter_step = "notify_team"
  }
  action {
    channel  = "slack"
    template = "vip_enrolment_team_notice"
  }
}
