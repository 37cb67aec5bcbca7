# Onboarding drip (software as a service): a new account's first week,
# with each email skipped once the customer has done what it asks, a note
# to the customer success team in Slack when someone is still stuck after
# a week, and one when a customer subscribes during the drip.
#
#   at once  getting_started  the three steps to set up
#   +1d      setup_nudge      setup help, only if setup is not done
#   +3d      feature_tips     three features worth knowing
#   +5d      invite_team      invite colleagues, only if nobody was invited
#   +7d      stuck_alert      Slack: setup still not done after a week
#
# Events:
# - account.signed_up (your app, Segment's "Signed Up") enters a customer
#   with an email address, once ever.
# - Your app reports progress as traits on any event (Segment identify →
#   customer.updated): setup_completed (true once set up), teammates_invited
#   (a number). The steps read them when they come due.
# - subscription.created (Stripe) is the goal: the customer subscribed; the
#   drip ends and `subscribed` tells the success team in Slack. If a
#   subscription is created at sign-up (a Stripe trial with a card), it
#   would end the drip at once: use a later event as the goal instead.
# - email.unsubscribed, email.complained and customer.deleted end the drip.
#
# Needs: channels named "email" and "slack".
#
# Policies (configs/README.md §2): marketing, so consent, the policy's
# caps and quiet hours apply (to the Slack notes too, in the customer's
# time zone, unless the policy's quiet_hours lists only "email" and "sms"
# in `channels`). Send account confirmations and password resets from
# their own transactional trigger, not from here.
#
# Adjust: the delays, the trait names your app sends, and the links
# (app.example).

template "onboarding_drip_getting_started" {
  subject = "Your account is ready: three steps to get going"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Welcome aboard! Most teams are up and running in about ten minutes:

    1. Connect your data source: https://app.example/setup/connect
    2. Pick the metrics you care about: https://app.example/setup/metrics
    3. Invite a colleague: https://app.example/settings/team

    Reply to this email if anything is unclear; a real person reads it.

    The App team
    EOT
}

template "onboarding_drip_setup_nudge" {
  subject = "Need a hand with setup?"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    It looks like your setup isn't finished yet. Connecting a data source
    is the step people get stuck on most; this two-minute guide walks you
    through it: https://app.example/guides/connect

    Or book 15 minutes with us and we'll do it together:
    https://app.example/book-a-call

    The App team
    EOT
}

template "onboarding_drip_feature_tips" {
  subject = "Three features our power users swear by"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Now that you've had a look around, three things worth trying:

    - Alerts: get an email when a metric moves more than you expect.
    - Saved views: one click back to the numbers you check every day.
    - Weekly digest: a Monday summary for you and your team.

    All three in two minutes: https://app.example/guides/first-week

    The App team
    EOT
}

template "onboarding_drip_invite_team" {
  subject = "It's better with your team"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Accounts with at least one colleague on board get twice as much out
    of their first month. Invite yours (they'll see what you've set up):
    https://app.example/settings/team

    The App team
    EOT
}

template "onboarding_drip_stuck_alert" {
  text = <<-EOT
    :warning: {{ .Customer.Email }} signed up a week ago ({{ .Fire.entered_at }}) and has not finished setup. Worth a personal email or a call?
    EOT
}

template "onboarding_drip_subscribed" {
  text = <<-EOT
    :tada: {{ .Customer.Email }} subscribed during onboarding (signed up {{ .Fire.entered_at }}).
    EOT
}

trigger "onboarding_drip" {
  plugin = "journey"
  config {
    start     = ["account.signed_up"]
    when      = customer.email != ""
    goal      = ["subscription.created"]
    goal_step = "subscribed"
    exit      = ["email.unsubscribed", "email.complained", "customer.deleted"]

    step {
      name = "getting_started"
    }
    step {
      name  = "setup_nudge"
      delay = "1d"
      # Traits are read when the step comes due, so progress made since
      # the sign-up counts. A missing trait means "not yet".
      when = try(customer.traits.setup_completed, false) != true
    }
    step {
      name  = "feature_tips"
      delay = "2d"
    }
    step {
      name  = "invite_team"
      delay = "2d"
      when  = try(customer.traits.teammates_invited, 0) == 0
    }
    step {
      name  = "stuck_alert"
      delay = "2d"
      when  = try(customer.traits.setup_completed, false) != true
    }
  }
  action {
    channel  = "email"
    template = "onboarding_drip_getting_started"
    steps    = ["getting_started"]
  }
  action {
    channel  = "email"
    template = "onboarding_drip_setup_nudge"
    steps    = ["setup_nudge"]
  }
  action {
    channel  = "email"
    template = "onboarding_drip_feature_tips"
    steps    = ["feature_tips"]
  }
  action {
    channel  = "email"
    template = "onboarding_drip_invite_team"
    steps    = ["invite_team"]
  }
  action {
    channel  = "slack"
    template = "onboarding_drip_stuck_alert"
    steps    = ["stuck_alert"]
  }
  action {
    channel  = "slack"
    template = "onboarding_drip_subscribed"
    steps    = ["subscribed"]
  }
}
