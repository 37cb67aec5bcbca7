# Browse abandonment (exit intent): a known customer browses the shop
# (pages, products, searches), then leaves without adding anything to the
# cart. Thirty minutes after their last page view they get one email that
# picks up where they left off: the product they last looked at, or what
# they searched for.
#
# Needs: a channel named "email". Events: page.viewed, product.viewed and
# search.performed (Segment page and track calls, or the json kind; see
# configs/README.md §5) to start and push back the clock; cart.updated,
# checkout.started, checkout.updated and order.placed to stop it (the
# abandoned-cart and order emails take over from there). Optional,
# shown when present on the last event: name and url (product.viewed),
# query (search.performed), title and url (page.viewed); and the
# first_name trait.
#
# Policies (configs/README.md §2): marketing. Consent applies (an
# email.unsubscribed stops it), and so do the policy's email cap and quiet
# hours: someone who leaves at 20:45 in New York hears from us at 08:00
# New York time, not at 21:15. On top of those:
#   - at most one browse email per customer every 3 days, however often
#     they browse and leave;
#   - a 10% holdout: these emails have the weakest intent signal of all,
#     and many browsers come back on their own, so keep a control group to
#     measure the lift in the KPIs before raising the volume.
#
# Adjust: `wait` (30 minutes is the usual "session ended" gap), the cap,
# the holdout and the copy. Anonymous visitors are ignored until an event
# tells us their email. Loaded together with product_view_reminder.hcl, a
# customer who views a product and leaves can get this email after 30
# minutes and the product reminder a day later; drop one of the two if
# that is too much for your audience.

template "browse_abandonment" {
  subject = "{{ with index .Fire \"properties\" }}{{ with index . \"name\" }}Still thinking about the {{ . }}?{{ else }}Find what you were looking for?{{ end }}{{ else }}Find what you were looking for?{{ end }}"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    {{ with index .Fire "properties" -}}
    {{ if index . "name" -}}
    You were looking at the {{ index . "name" }}. It is still here{{ with index . "url" }}:
    {{ . }}{{ else }}.{{ end }}
    {{- else if index . "query" -}}
    You searched for "{{ index . "query" }}". Here is everything we have for it:
    https://shop.example/search?q={{ urlquery (index . "query") }}
    {{- else -}}
    Thanks for stopping by{{ with index . "title" }} to look at {{ . }}{{ end }}. Pick up where you left off{{ with index . "url" }}:
    {{ . }}{{ else }} at https://shop.example{{ end }}
    {{- end }}
    {{- else -}}
    Thanks for stopping by. Pick up where you left off at https://shop.example
    {{- end }}

    Need a hand choosing? Reply to this email and a real person will help.
    EOT
}

trigger "browse_abandonment" {
  plugin  = "absence"
  holdout = 0.1
  config {
    start  = ["page.viewed", "product.viewed", "search.performed"]
    cancel = ["cart.updated", "checkout.started", "checkout.updated", "order.placed"]
    # No key: one clock per customer, the browsing session. Every page view
    # pushes it back (restart, the default), so it fires 30 minutes after
    # the last one, with that page's properties.
    wait = "30m"
    step = "exit_intent"
    # Only customers we can email. An anonymous visitor's events start
    # nothing (and a start event that fails `when` stops a running clock).
    when = customer.email != ""
  }
  action {
    channel  = "email"
    template = "browse_abandonment"
  }
  frequency_cap {
    max = 1
    per = "3d"
  }
}
