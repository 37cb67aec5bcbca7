# Rescue campaign: the last-chance series for customers who have stopped
# ordering, before they are considered lost (lost_customer.hcl takes over
# at 120 days). Measured from the customer's last order:
#
#   60 days  we_miss_you  what's new, no discount
#   70 days  offer        15% off with code COMEBACK15, valid 12 days
#   80 days  last_chance  the code runs out in two days
#
# An order at any point stops the series (the clock starts again from
# that order); browsing does not, since it is orders we want back.
#
# Events: order.placed (Shopify, WooCommerce, Stripe, Segment's "Order
# Completed"). Only customers who have ordered are tracked, from their
# first order. Nothing else is needed: no event says "at risk", the
# silence does.
#
# Needs: a channel named "email".
#
# Policies (configs/README.md §2): marketing, so consent (an unsubscribed
# customer gets nothing), the policy's email caps and quiet hours apply.
# 10% of customers are held out (they never get this series) so that the
# campaign's KPIs show how many customers it wins back beyond those who
# would have come back anyway. At most three rescue emails per customer in
# 180 days: a customer who is rescued and drifts away again soon after
# does not get a second discount straight away.
#
# Adjust: the three delays to your buying cycle (60 days suits a product
# bought monthly), the code and its validity, the holdout share.

template "rescue_campaign_we_miss_you" {
  subject = "It's been a while: here's what's new"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    It's been {{ .Fire.inactive_days }} days since your last order, and
    we've been busy: new arrivals, restocked favourites, and a few things
    we think you'll like.

    Have a look: https://shop.example/new

    The Shop team
    EOT
}

template "rescue_campaign_offer" {
  subject = "15% off your next order, just for you"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    We'd love to have you back. Take 15% off your next order with code
    COMEBACK15, valid for the next 12 days:
    https://shop.example/?code=COMEBACK15

    The Shop team
    EOT
}

template "rescue_campaign_last_chance" {
  subject = "Last chance: your 15% ends in two days"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Your code COMEBACK15 (15% off your next order) runs out in two days.
    After that, we'll stop nudging.

    Use it here: https://shop.example/?code=COMEBACK15

    The Shop team
    EOT
}

trigger "rescue_campaign" {
  plugin  = "inactivity"
  holdout = 0.1
  config {
    on    = ["order.placed"]
    after = "60d"
    step  = "we_miss_you"
    then {
      step  = "offer"
      after = "70d"
    }
    then {
      step  = "last_chance"
      after = "80d"
    }
  }
  action {
    channel  = "email"
    template = "rescue_campaign_we_miss_you"
    steps    = ["we_miss_you"]
  }
  action {
    channel  = "email"
    template = "rescue_campaign_offer"
    steps    = ["offer"]
  }
  action {
    channel  = "email"
    template = "rescue_campaign_last_chance"
    steps    = ["last_chance"]
  }
  frequency_cap {
    max = 3
    per = "180d"
  }
}
