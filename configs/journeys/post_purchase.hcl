# Post-purchase follow-up: ten days after an order (time for it to arrive
# and be tried), ask for a review of what was bought; a week later,
# suggest what goes with it. A new order starts the follow-up over for
# that order; a cancellation or refund ends it.
#
# Needs: a channel named "email". Events (configs/README.md §5):
#   - order.placed starts it (Shopify orders/create, WooCommerce
#     order.created, Stripe checkout.session.completed, Segment "Order
#     Completed", the json kind). Its order_id, order_name, order_number
#     and items (name, product_id) are kept for the emails (`carry`), each
#     only when present; the emails read well without any of them;
#   - order.cancelled and order.refunded end it (a partial refund too:
#     better silent than asking someone to review a return);
#   - shown when present: the first_name trait.
# Shopify test orders (properties.test = true) and customers without an
# email address do not enter.
#
# Policies (configs/README.md §2): marketing. Consent applies (an
# email.unsubscribed in the meantime suppresses both emails), and so do
# the policy's email cap and quiet hours in the customer's time zone: for
# an order placed at 22:30, the review request falls due at 22:30 ten days
# later and goes out at 08:00 the next morning, local time. No trigger-level cap: one follow-up runs per customer at a
# time, so this sends at most two emails per order, a week apart. No
# holdout: it would withhold review requests too, whose value is the
# reviews, not a lift in revenue; to measure the cross-sell, move it into
# a trigger of its own with a holdout.
#
# Adjust: the delays (later for slow shipping, sooner for digital goods),
# the URLs and the discount code. A customer who orders again within ten
# days restarts the follow-up each time, so gets the review request ten
# days after their latest order only; set reentry = "after_exit" to follow
# up on the first order instead.

template "post_purchase_review_request" {
  subject = "How are you getting on with {{ with index .Fire \"start\" }}{{ with index . \"items\" }}{{ with index . 0 }}{{ with index . \"name\" }}your {{ . }}{{ else }}your order{{ end }}{{ end }}{{ else }}your order{{ end }}{{ else }}your order{{ end }}?"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    {{ with index .Fire "start" -}}
    Your order {{ with index . "order_name" }}{{ . }}{{ else }}{{ with index . "order_number" }}#{{ . }}{{ else }}{{ with index . "order_id" }}{{ . }}{{ end }}{{ end }}{{ end }} should have been with you for a few days now.
    {{- with index . "items" }}
    You ordered:
    {{- range . }}
      - {{ or (index . "name") "an item" }}
    {{- end }}
    {{- end }}
    {{- else -}}
    Your order should have been with you for a few days now.
    {{- end }}

    Would you tell other shoppers what you think? It takes a minute and
    helps them choose:
    https://shop.example/reviews/new{{ with index .Fire "start" }}{{ with index . "order_id" }}?order={{ urlquery . }}{{ end }}{{ end }}

    Something not right? Reply to this email instead and we will fix it.
    EOT
}

template "post_purchase_cross_sell" {
  subject = "Picked for you, with 10% off"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    {{ with index .Fire "start" }}{{ with index . "items" }}{{ with index . 0 -}}
    Customers who bought {{ or (index . "name") "what you bought" }} also loved these:
    https://shop.example/recommendations{{ with index . "product_id" }}?for={{ urlquery . }}{{ end }}
    {{- end }}{{ else -}}
    We picked a few things we think you will like:
    https://shop.example/recommendations
    {{- end }}{{ else -}}
    We picked a few things we think you will like:
    https://shop.example/recommendations
    {{- end }}

    As a thank-you for shopping with us, use code THANKS10 for 10% off
    your next order in the next 14 days.
    EOT
}

trigger "post_purchase" {
  plugin = "journey"
  config {
    start = ["order.placed"]
    when  = customer.email != "" && try(event.properties.test, false) != true
    exit  = ["order.cancelled", "order.refunded"]
    # A new order ends the running follow-up and starts one for itself.
    reentry = "always"
    # Steps that waited see a timer.fired event, not the order: keep what
    # the emails need (at most 1 KB each; bigger item lists are dropped).
    carry = ["order_id", "order_name", "order_number", "items"]

    step {
      name  = "review_request"
      delay = "10d"
    }
    step {
      name  = "cross_sell"
      delay = "7d"
    }
  }
  action {
    channel  = "email"
    template = "post_purchase_review_request"
    steps    = ["review_request"]
  }
  action {
    channel  = "email"
    template = "post_purchase_cross_sell"
    steps    = ["cross_sell"]
  }
}
