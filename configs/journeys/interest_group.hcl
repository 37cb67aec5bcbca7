# Interest group joined: a welcome email when a customer adds "espresso"
# to their interests (a preference centre, a quiz, a sign-up form), with
# what members get and where to start. Leaving the group sends nothing;
# rejoining within 90 days sends nothing either, so someone toggling their
# preferences is not welcomed twice.
#
# Events: any event carrying the trait interests, a list of names such as
# ["espresso", "pour-over"] (your preference centre through a json source,
# Segment identify → customer.updated). Every event re-evaluates the
# membership on the profile as updated by that event. Customers who were
# already in the group before this rule was added are welcomed on their
# next event; add the rule before the interest exists if that is not
# wanted.
#
# Needs: a channel named "email".
#
# Policies (configs/README.md §2): marketing, so consent, the policy's
# email caps and quiet hours apply: a customer who unsubscribed from email
# is not welcomed, and one who joins at 23:00 local time is welcomed at
# 08:00.
#
# Adjust: the interest name and the copy; for several groups, copy the
# file once per group and rename the trigger and template.

template "interest_group_welcome" {
  subject = "Welcome to the Espresso Club"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    You're in! As an Espresso Club member you'll get:

    - first pick of our single-origin espresso roasts, two days before
      everyone else;
    - our monthly dial-in notes: grind, dose and time for each new bean;
    - invitations to our latte art evenings.

    New to espresso at home? Start with our guide to dialling in:
    https://shop.example/learn/espresso

    Changed your mind? Update your interests any time:
    https://shop.example/account/preferences
    EOT
}

trigger "interest_group" {
  plugin = "segment"
  config {
    # try(): customers who never set interests are simply not members.
    condition     = contains(try(customer.traits.interests, []), "espresso")
    enter_step    = "welcome"
    reentry_after = "90d"
  }
  action {
    channel  = "email"
    template = "interest_group_welcome"
  }
}
