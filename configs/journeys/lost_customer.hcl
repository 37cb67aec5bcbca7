# Lost customer: one final attempt, by email and (for customers who opted
# in) by SMS, 120 days after a customer's last order, after the rescue
# campaign (rescue_campaign.hcl, 60 to 80 days) has not brought them back.
# Two weeks later, if they still have not ordered, the team hears in Slack
# that the customer is lost; then this journey stops messaging them until
# they order again, when it starts over.
#
#   120 days  final_attempt  email, and SMS to those who opted in
#   134 days  marked_lost    Slack: stop marketing to this customer
#
# Events: order.placed (Shopify, WooCommerce, Stripe, Segment's "Order
# Completed"). Only customers who have ordered are tracked, from their
# first order.
#
# Needs: channels named "email", "sms" and "slack".
#
# Policies (configs/README.md §2): marketing, so consent, the policy's
# caps and quiet hours apply. SMS needs a recorded opt-in (the policy's
# require_opt_in, by default ["sms"]: sms.subscribed, a consent.updated
# event, or Shopify's accepts_sms_marketing trait); without one the SMS is
# held back (consent) and the email still goes.
#
# What this cannot do: triggergate cannot set a trait or consent by
# itself, so "stop messaging" holds for this journey only. To stop every
# marketing trigger, act on the Slack note (move the customer to a sunset
# list) or have your app send customer.updated with the trait lost = true
# and add try(customer.traits.lost, false) != true to other triggers'
# conditions.
#
# Adjust: the delays, the code, the Slack wording.

template "lost_customer_final_email" {
  subject = "Should we stop writing to you?"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    We haven't seen you for a while, and we don't want to crowd your
    inbox. So this is our last offer: 25% off your next order with code
    LASTCALL25, valid for 14 days:
    https://shop.example/?code=LASTCALL25

    If you'd rather hear from us less, choose what you get here:
    https://shop.example/account/preferences

    Either way, thanks for having been a customer.
    The Shop team
    EOT
}

template "lost_customer_final_sms" {
  text = "Shop: we miss you! 25% off your next order with code LASTCALL25, 14 days only: https://shop.example/?code=LASTCALL25 Reply STOP to opt out"
}

template "lost_customer_marked_lost" {
  text = <<-EOT
    {{ or .Customer.Email .Customer.Phone .Customer.ID }} has not ordered for {{ .Fire.inactive_days }} days (last order {{ .Fire.last_active_at }}) and did not answer the final offer: stop marketing to them (sunset list).
    EOT
}

trigger "lost_customer" {
  plugin = "inactivity"
  config {
    on    = ["order.placed"]
    after = "120d"
    step  = "final_attempt"
    then {
      step  = "marked_lost"
      after = "134d"
    }
  }
  action {
    channel  = "email"
    template = "lost_customer_final_email"
    steps    = ["final_attempt"]
  }
  action {
    channel  = "sms"
    template = "lost_customer_final_sms"
    steps    = ["final_attempt"]
  }
  action {
    channel  = "slack"
    template = "lost_customer_marked_lost"
    steps    = ["marked_lost"]
  }
}
