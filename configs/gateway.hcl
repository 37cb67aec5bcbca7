# The default single-node configuration: `make run` serves it with no
# environment variables. It takes any JSON event on /v1/webhooks/app and
# writes a message to the gateway's log for every event it receives.
#
# Try it:
#   curl -sS localhost:8080/v1/webhooks/app -H 'Content-Type: application/json' \
#     -d '{"id":"evt_1","type":"order.placed","customer":{"email":"jane@example.com"},"properties":{"value":42}}'
#
# The HCL reference is configs/README.md.

gateway {
  listen       = "127.0.0.1:8080"
  admin_listen = "127.0.0.1:8081"
  data_dir     = "./data"
}

# Real etcd, running inside the gateway process; data under data_dir.
store {
  embedded = true
}

# Any JSON. With no `event { }` block the body is taken as a canonical
# event: type, id (for dedupe), customer {id, email, ...}, properties, traits.
source "app" {
  kind = "json"
}

channel "log" {
  plugin = "log"
}

template "hello" {
  subject = "Hello {{ or .Customer.Email .Customer.ID }}"
  text    = "{{ .Event.Type }} received for {{ or .Customer.Email .Customer.ID }}."
}

trigger "every_event" {
  plugin = "event"
  config {
    on = ["*"]
  }
  action {
    channel  = "log"
    template = "hello"
  }
}
