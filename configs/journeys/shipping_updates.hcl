# Shipping updates: "your order is on its way" when an order is fulfilled
# (with the tracking link when there is one), and "your order has arrived"
# when the carrier reports it delivered. One email of each kind per order.
#
# Needs: a channel named "email". Events (configs/README.md §5), all with
# properties.order_id:
#   - order.fulfilled: Shopify orders/fulfilled, orders/partially_fulfilled,
#     fulfillments/create and fulfillments/update; WooCommerce orders
#     updated to "completed"; the json kind;
#   - order.delivered: Shopify fulfillments/update with shipment_status
#     "delivered"; the json kind. Shops that never send it simply get no
#     arrival email.
# Optional, shown when present: order_name, order_number, fulfillment_name,
# tracking_company, tracking_number, tracking_url, status_url, items (name,
# quantity), partial (Shopify), and the first_name trait.
#
# Why `threshold` and not `event`: the same order reports "fulfilled" many
# times. Shopify sends order.fulfilled again on every carrier scan
# (fulfillments/update: in_transit, out_for_delivery...) and twice if both
# orders/fulfilled and fulfillments/create are subscribed; WooCommerce
# repeats it each time a completed order is saved. An `event` trigger
# would email each of them. A threshold of one event per order_id, with a
# 30-day cooldown, sends on the first and stays silent for the rest.
# Limits of that choice: a second parcel of a split shipment gets no email
# of its own (set key = "fulfillment_id" instead if you ship in parts and
# only use Shopify: events without the key are skipped), and an order
# reported fulfilled again more than 30 days later emails again.
#
# Policies (configs/README.md §2): transactional. The customer expects
# these, so they go out at any hour and to customers who unsubscribed from
# marketing, and they neither count toward nor are held back by caps.
# Only a suppressed address (hard bounce, spam complaint) stops them.
#
# Adjust: the wording and the support address. To text "out for
# delivery", add a trigger on order.fulfilled with
# when = try(event.properties.shipment_status, "") == "out_for_delivery"
# and channel = "sms" (customers without a phone number would fail).

template "shipping_updates_shipped" {
  subject = "{{ if index .Event.Properties \"partial\" }}Part of your order is{{ else }}Your order is{{ end }} on its way"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    {{/* The order as the customer knows it: Shopify's "#1001", else the
         shop's order number, else the fulfillment's name, else the id. */ -}}
    {{ if index .Event.Properties "partial" }}Part of your order{{ else }}Good news: your order{{ end }} {{ with index .Event.Properties "order_name" }}{{ . }}{{ else }}{{ with index .Event.Properties "order_number" }}#{{ . }}{{ else }}{{ with index .Event.Properties "fulfillment_name" }}{{ . }}{{ else }}{{ .Event.Properties.order_id }}{{ end }}{{ end }}{{ end }} has shipped
    {{- if index .Event.Properties "partial" }}; we will let you know when the rest follows{{ end }}.
    {{- with index .Event.Properties "items" }}

    In this parcel:
    {{- range . }}
      - {{ or (index . "name") (index . "sku") "Item" }} × {{ or (index . "quantity") 1 }}
    {{- end }}
    {{- end }}
    {{- with index .Event.Properties "tracking_url" }}

    Track your parcel: {{ . }}
    {{- end }}
    {{- with index .Event.Properties "tracking_number" }}
    Tracking number: {{ . }}{{ with index $.Event.Properties "tracking_company" }} ({{ . }}){{ end }}
    {{- end }}
    {{- with index .Event.Properties "status_url" }}

    Your order's page: {{ . }}
    {{- end }}

    We will email you again when it has been delivered.
    EOT
}

template "shipping_updates_delivered" {
  subject = "Your order has arrived"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    The carrier{{ with index .Event.Properties "tracking_company" }} ({{ . }}){{ end }} reports that your order {{ with index .Event.Properties "order_name" }}{{ . }}{{ else }}{{ with index .Event.Properties "order_number" }}#{{ . }}{{ else }}{{ with index .Event.Properties "fulfillment_name" }}{{ . }}{{ else }}{{ .Event.Properties.order_id }}{{ end }}{{ end }}{{ end }} was delivered on {{ .Event.OccurredAt.Format "Monday 2 January" }}.

    Not there, or something not right with it? Reply to this email and we
    will sort it out.
    EOT
}

trigger "shipping_updates_shipped" {
  plugin        = "threshold"
  transactional = true
  config {
    on     = ["order.fulfilled"]
    key    = "order_id"
    count  = 1
    within = "30d"
    # cooldown defaults to `within`: once an order's email is sent, its
    # further order.fulfilled events are counted but send nothing.
    step = "shipped"
    # Nowhere to send without an address (it would dead-letter).
    when = customer.email != ""
  }
  action {
    channel  = "email"
    template = "shipping_updates_shipped"
  }
}

trigger "shipping_updates_delivered" {
  plugin        = "threshold"
  transactional = true
  config {
    # Once per order too: a webhook replayed by the shop with a new id, or
    # a second parcel's delivery, does not say "arrived" twice.
    on     = ["order.delivered"]
    key    = "order_id"
    count  = 1
    within = "30d"
    step   = "delivered"
    when   = customer.email != ""
  }
  action {
    channel  = "email"
    template = "shipping_updates_delivered"
  }
}
