# Welcome series: four emails over a new subscriber's first week, ending
# at their first order.
#
#   15 min  welcome        who we are, and a 10% first-order code
#   day 2   story          how we choose what we sell
#   day 5   bestsellers    what other customers buy most
#   day 7   code_reminder  the first-order code runs out tomorrow
#
# (counted from the sign-up).
#
# Events: account.signed_up (your app, Segment's "Signed Up") or
# customer.created (Shopify, WooCommerce, Stripe, HubSpot) enters a
# customer with an email address who has not ordered yet, once ever,
# whichever event comes first. order.placed is the goal and ends the
# series, so nobody is offered a first-order code after their first order.
# email.unsubscribed, email.complained and customer.deleted end it too.
#
# Needs: a channel named "email".
#
# Policies (configs/README.md §2): marketing, so consent, the policy's
# email caps and quiet hours apply. Each email is timed from the sign-up,
# so someone who signs up at 23:00 local time gets every email of the
# series at 08:00 (when the quiet hours end).
#
# Adjust: the code WELCOME10 (issue it in your shop; it should expire
# about 8 days after sign-up), the delays, and the links (shop.example).

template "welcome_series_welcome" {
  subject = "Welcome! Here's 10% off your first order"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Thanks for joining us. Over the next week we'll send you a few emails
    about who we are and what we sell, and then we'll leave you in peace
    with our regular newsletter.

    To start you off, here's 10% off your first order with code WELCOME10.
    It's valid for 8 days: https://shop.example/?code=WELCOME10

    See you soon,
    The Shop team
    EOT
}

template "welcome_series_story" {
  subject = "Why we started this shop"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    We started because we couldn't find things that were made to last and
    priced fairly. So we went looking: every product we sell comes from a
    maker we've visited, and we test it for months before it goes on sale.

    Read how we choose: https://shop.example/our-story

    The Shop team
    EOT
}

template "welcome_series_bestsellers" {
  subject = "What everyone's buying this week"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Not sure where to start? These are the products our customers order
    most, and come back for: https://shop.example/bestsellers

    Your 10% welcome code WELCOME10 works on all of them.

    The Shop team
    EOT
}

template "welcome_series_code_reminder" {
  subject = "Your 10% welcome code ends tomorrow"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    A quick reminder: your welcome code WELCOME10 (10% off your first
    order) runs out tomorrow.

    Use it here: https://shop.example/?code=WELCOME10

    The Shop team
    EOT
}

trigger "welcome_series" {
  plugin = "journey"
  config {
    start = ["account.signed_up", "customer.created"]
    # A customer who has ordered already (a guest checkout before the
    # account) is past the point of a first-order welcome.
    when = customer.email != "" && customer.orders_count == 0
    goal = ["order.placed"]
    exit = ["email.unsubscribed", "email.complained", "customer.deleted"]
    # reentry is "never" (the default): one welcome per customer, ever.

    step {
      name = "welcome"
      # Not at once: Shopify creates the customer while a new customer's
      # first order is being placed, and this leaves time for that order
      # to arrive and end the series before it offers a first-order code.
      delay = "15m"
    }
    step {
      name  = "story"
      delay = "2d"
    }
    step {
      name  = "bestsellers"
      delay = "3d"
    }
    step {
      name  = "code_reminder"
      delay = "2d"
    }
  }
  action {
    channel  = "email"
    template = "welcome_series_welcome"
    steps    = ["welcome"]
  }
  action {
    channel  = "email"
    template = "welcome_series_story"
    steps    = ["story"]
  }
  action {
    channel  = "email"
    template = "welcome_series_bestsellers"
    steps    = ["bestsellers"]
  }
  action {
    channel  = "email"
    template = "welcome_series_code_reminder"
    steps    = ["code_reminder"]
  }
}
