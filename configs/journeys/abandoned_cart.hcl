# Abandoned cart: a reminder one hour after the shopper last touched their
# checkout, and a second reminder with a 10% incentive a day later. An
# order for that checkout stops both; an empty cart stops both.
#
# Needs: a channel named "email". Events: checkout.updated and order.placed
# carrying properties.checkout_id (Shopify, WooCommerce and the json kind
# map them; see configs/README.md §5), and cart.emptied from your app: a
# custom type, so declare it on your json source
# (event_types = ["cart.emptied"]) or remove it from `cancel`.
#
# Policies (configs/README.md §2): this is marketing, so consent, the
# policy's frequency caps and quiet hours apply; a reminder due at 23:00
# local time waits for the quiet hours to end. At most two abandoned-cart
# emails go to one shopper per week, however many carts they abandon.

template "abandoned_cart_reminder" {
  subject = "You left something in your cart"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Your cart is waiting:
    {{ range .Fire.properties.items }}  - {{ .name }} × {{ .quantity }}
    {{ end }}
    Pick up where you left off: {{ .Fire.properties.recovery_url }}
    EOT
}

template "abandoned_cart_incentive" {
  subject = "10% off what's in your cart, today only"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Still thinking it over? Use code COMEBACK10 for 10% off your cart:
    {{ .Fire.properties.recovery_url }}
    EOT
}

trigger "abandoned_cart" {
  plugin = "absence"
  config {
    start  = ["checkout.updated"]
    cancel = ["order.placed", "cart.emptied"]
    key    = "checkout_id"
    # An order without a checkout id (placed by phone, say) also ends the
    # reminders.
    cancel_any = true
    wait       = "1h"
    step       = "reminder"
    # Only carts worth reminding about; a checkout updated to empty stops
    # the clock.
    when = try(event.properties.value, 0) > 0
    reminder {
      step  = "incentive"
      after = "25h"
    }
  }
  action {
    channel  = "email"
    template = "abandoned_cart_reminder"
    steps    = ["reminder"]
  }
  action {
    channel  = "email"
    template = "abandoned_cart_incentive"
    steps    = ["incentive"]
  }
  frequency_cap {
    max = 2
    per = "7d"
  }
}
