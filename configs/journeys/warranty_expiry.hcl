# Warranty expiry: two reminders before a product's warranty runs out, 30
# days before ("extend it now") and 7 days before ("last week"), at 10:00
# in the customer's timezone. An extension (the goal) moves both to the new
# end of cover; a cancelled warranty stops them.
#
# Needs: a channel named "email". Events, from your shop or warranty
# system through a json or standard source (no vendor kind emits them):
#   - warranty.registered and warranty.extended with
#     properties.expires_at: the last day of cover, "2027-03-14" (or an
#     RFC 3339 timestamp, or Unix seconds);
#   - warranty.cancelled: no reminders for it.
# They are custom types: declare them on that source, event_types =
# ["warranty.registered", "warranty.extended", "warranty.cancelled"].
# The customer's `timezone` trait (IANA name) sets the local hour; UTC
# without one.
#
# Policies: marketing (the reminders sell an extension), so consent, the
# policy's caps and quiet hours apply; 10:00 local is outside the usual
# quiet hours. Each reminder fires once per warranty (repeat = "once").
#
# Adjust: the offsets, the extension URL. Limits of the date plugin: it
# keeps one date per customer and rule, so a customer with several
# warranties is reminded of the one registered or extended last; and its
# fire data carries the dates only, so the copy cannot name the product.

template "warranty_expiry_30d" {
  subject = "Your warranty ends on {{ .Fire.occurs_on }}: extend it now"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    The warranty on your purchase ends on {{ .Fire.occurs_on }}, 30 days
    from now. After that, repairs and replacements are at your cost.

    Extend your cover by up to 3 years, from a few euros a month:
    https://example.com/account/warranties
    EOT
}

template "warranty_expiry_7d" {
  subject = "Last week of warranty cover: it ends on {{ .Fire.occurs_on }}"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Your warranty ends in a week, on {{ .Fire.occurs_on }}. If anything
    isn't working as it should, now is the time to tell us; or extend your
    cover before it lapses:
    https://example.com/account/warranties
    EOT
}

trigger "warranty_expiry" {
  plugin = "date"
  config {
    on        = ["warranty.registered", "warranty.extended"]
    property  = "expires_at"
    cancel_on = ["warranty.cancelled"]
    offset    = "-30d"
    at        = "10:00"
    repeat    = "once"
    step      = "expiring_30d"
  }
  action {
    channel  = "email"
    template = "warranty_expiry_30d"
  }
}

# The same date, a second reminder. A trigger of its own because a date
# rule fires one step per date.
trigger "warranty_expiry_final" {
  plugin = "date"
  config {
    on        = ["warranty.registered", "warranty.extended"]
    property  = "expires_at"
    cancel_on = ["warranty.cancelled"]
    offset    = "-7d"
    at        = "10:00"
    repeat    = "once"
    step      = "expiring_7d"
  }
  action {
    channel  = "email"
    template = "warranty_expiry_7d"
  }
}
