# Product view reminder: a customer looked at a product and did not add it
# to the cart. A day after they first viewed it, one email shows them that
# product again. Adding it to the cart, starting a checkout or ordering
# stops the reminder.
#
# Needs: a channel named "email". Events (configs/README.md §5):
#   - product.viewed with properties.product_id (Segment "Product Viewed",
#     or the json kind); optional, shown when present: name, price,
#     currency, url, image_url; and the first_name trait;
#   - cart.updated, checkout.started and order.placed stop it. With a
#     product_id (Segment "Product Added") they stop that product's
#     reminder only; without one (a Shopify cart or checkout, any order)
#     they stop every reminder of the customer, who is now buying and
#     hears from the abandoned-cart journey instead.
#
# Policies (configs/README.md §2): marketing. Consent applies (an
# email.unsubscribed stops it), and so do the policy's email cap and quiet
# hours in the customer's time zone: a product first viewed at 22:00 is
# reminded at 08:00 two days later, not at 22:00 the next day. On top of
# those, at most one product reminder per customer in 3 days: someone who
# viewed five products gets one email (the first product viewed), not
# five.
#
# Adjust: `wait`, the cap and the copy. Repeated views do not postpone
# the reminder (restart = false): a customer coming back to the same
# product daily is the most interested one. Anonymous visitors are
# ignored until an event tells us their email. See browse_abandonment.hcl
# for the same-session "exit intent" email; loading both can send both.

template "product_view_reminder" {
  subject = "Still thinking about {{ with index .Fire \"properties\" }}{{ with index . \"name\" }}the {{ . }}{{ else }}it{{ end }}{{ else }}it{{ end }}?"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    {{ with index .Fire "properties" -}}
    You had a look at {{ with index . "name" }}the {{ . }}{{ else }}one of our products{{ end }}
    {{- with index . "price" }} ({{ printf "%.2f" . }}{{ with index $.Fire.properties "currency" }} {{ . }}{{ end }}){{ end }} recently.
    It is still available, but we cannot promise for how long.
    {{- with index . "url" }}

    Take another look: {{ . }}
    {{- end }}
    {{- with index . "image_url" }}
    Picture: {{ . }}
    {{- end }}
    {{- else -}}
    You had a look at one of our products recently. It is still available:
    https://shop.example/recently-viewed
    {{- end }}

    Questions about size, fit or delivery? Reply to this email.
    EOT
}

trigger "product_view_reminder" {
  plugin = "absence"
  config {
    start  = ["product.viewed"]
    cancel = ["cart.updated", "checkout.started", "order.placed"]
    # One clock per product...
    key = "product_id"
    # ...but a cart, checkout or order without a product_id (every Shopify
    # cart, every order) stops them all.
    cancel_any = true
    wait       = "24h"
    step       = "reminder"
    # Measure from the first view: viewing again does not postpone it.
    restart = false
    # Only customers we can email. An anonymous view starts nothing.
    when = customer.email != ""
  }
  action {
    channel  = "email"
    template = "product_view_reminder"
  }
  frequency_cap {
    max = 1
    per = "3d"
  }
}
