# Order confirmation: an email the moment an order is placed, listing what
# was ordered and the total, with a link to the order's status page.
#
# Needs: a channel named "email". Events: order.placed with properties
# order_id and value (Shopify orders/create, WooCommerce order.created,
# Stripe checkout.session.completed, Segment "Order Completed" and the json
# kind all carry them; see configs/README.md §5). Optional, shown when
# present: order_number, currency, items (name, quantity, price),
# status_url, and the first_name trait.
#
# Policies (configs/README.md §2): transactional. The customer is waiting
# for it, so it goes out at 03:00 as well as at noon, to customers who
# unsubscribed from marketing too, and it neither counts toward nor is
# held back by frequency caps. Only a suppressed address (hard bounce,
# spam complaint) stops it, and a redelivered webhook never sends twice.
#
# Adjust: the wording and the support address. Subscribe each shop to one
# order-created webhook only (Shopify orders/create, or Segment "Order
# Completed", not both), or the customer gets two confirmations.

template "order_confirmation" {
  subject = "Thanks for your order{{ with index .Event.Properties \"order_number\" }} #{{ . }}{{ end }}"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Thank you for your order! We have received it and are getting it ready.

    Order: {{ with index .Event.Properties "order_number" }}#{{ . }}{{ else }}{{ .Event.Properties.order_id }}{{ end }}
    Placed: {{ .Event.OccurredAt.Format "2 January 2006, 15:04 MST" }}
    {{ with index .Event.Properties "items" }}
    What you ordered:
    {{ range . }}  - {{ or (index . "name") (index . "sku") "Item" }} × {{ or (index . "quantity") 1 }}{{ with index . "price" }} at {{ printf "%.2f" . }}{{ end }}
    {{ end }}{{ end }}
    Total: {{ printf "%.2f" .Event.Properties.value }}{{ with index .Event.Properties "currency" }} {{ . }}{{ end }}
    {{ with index .Event.Properties "status_url" }}
    Follow your order here: {{ . }}
    {{ end }}
    We will email you again as soon as it ships.

    Questions about your order? Just reply to this email.
    EOT
}

trigger "order_confirmation" {
  plugin = "event"
  # Transactional: no consent check, no caps, no quiet hours (and neither
  # frequency_cap nor holdout may be set).
  transactional = true
  config {
    on   = ["order.placed"]
    step = "confirmation"
    # A phone-only guest order has nowhere to send an email to; without
    # this the message would fail and land in the dead-letter queue.
    when = customer.email != ""
  }
  action {
    channel  = "email"
    template = "order_confirmation"
  }
}
