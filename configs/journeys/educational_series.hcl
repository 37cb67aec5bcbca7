# Educational series: "Better coffee at home", a free email course in
# four lessons two days apart, then a graduation email: with a discount
# on brewing gear for those who have not bought from us yet, without one
# for those who have.
#
#   at once  lesson_1          beans: fresh, whole, stored right
#   +2d      lesson_2          grind size for each brewing method
#   +4d      lesson_3          water, temperature and ratio
#   +6d      lesson_4          pour-over, French press or AeroPress
#   +8d      graduation_offer  15% off brewing gear (never ordered), or
#            graduation        a thank-you and where to go next (customers)
#
# Events: content.engaged with properties.content_id = "brewing-course"
# enrols the customer, once ever; send it from your course sign-up form
# through a json or standard source (configs/README.md §5). Other
# content.engaged events (articles read, other courses) do not enrol.
# email.unsubscribed, email.complained and customer.deleted end the course.
# An order does not: the customer asked for the lessons and keeps getting
# them; it only changes the graduation email.
#
# Needs: a channel named "email".
#
# Policies (configs/README.md §2): marketing, so consent, the policy's
# email caps and quiet hours apply. Lessons go out at the time of day the
# customer enrolled; an enrolment at 22:30 local time gets every lesson at
# 08:00. Four course emails fit in any week, so with the usual cap (at
# most 5 marketing emails in 7 days) there is room for one other
# campaign email; a lesson the cap holds back is skipped, not delayed.
#
# Adjust: content_id, the lessons (one journey per course: copy the file,
# rename the trigger and templates), the code BREW15, and the links.

template "educational_series_lesson_1" {
  subject = "Lesson 1 of 4: it starts with the beans"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Welcome to Better coffee at home! Four short lessons, one every other
    day. First: the beans.

    - Buy whole beans, roasted in the last two to four weeks (the bag
      should say when).
    - Grind just before brewing: ground coffee goes stale in minutes.
    - Keep them in an opaque, airtight tin at room temperature, not in
      the fridge.

    Homework: check the roast date on the bag you have now.

    Read the full lesson: https://shop.example/learn/brewing/1
    EOT
}

template "educational_series_lesson_2" {
  subject = "Lesson 2 of 4: grind size"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    The grind decides how fast water pulls flavour out of the coffee.

    - French press: coarse, like sea salt.
    - Pour-over: medium, like sand.
    - AeroPress and moka pot: fine, like table salt.

    Sour and thin? Grind finer. Bitter and harsh? Grind coarser.

    Read the full lesson: https://shop.example/learn/brewing/2
    EOT
}

template "educational_series_lesson_3" {
  subject = "Lesson 3 of 4: water, temperature and ratio"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Coffee is 98% water, so:

    - Use filtered water if yours is hard.
    - Brew at 92-96 °C: just off the boil.
    - Start at 60 g of coffee per litre (a 1:16 ratio) and weigh it;
      spoons lie.

    Read the full lesson: https://shop.example/learn/brewing/3
    EOT
}

template "educational_series_lesson_4" {
  subject = "Lesson 4 of 4: pick your method"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    Last lesson: which brewer suits you?

    - Pour-over: clean and bright; needs a steady hand and a kettle.
    - French press: rich and full-bodied; the most forgiving.
    - AeroPress: quick, strong, travels well.

    Read the full lesson, with a recipe for each:
    https://shop.example/learn/brewing/4
    EOT
}

template "educational_series_graduation_offer" {
  subject = "You finished the course: 15% off brewing gear"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    That's the whole course. Thanks for brewing along!

    If you're ready to put it into practice, take 15% off grinders,
    brewers and scales with code BREW15, valid for 7 days:
    https://shop.example/brewing-gear?code=BREW15

    Every lesson stays online: https://shop.example/learn/brewing
    EOT
}

template "educational_series_graduation" {
  subject = "You finished the course: what's next"
  text    = <<-EOT
    Hi {{ or (index .Customer.Traits "first_name") "there" }},

    That's the whole course. Thanks for brewing along!

    Want to go further? Our guides to espresso and cold brew are here:
    https://shop.example/learn

    Every lesson stays online: https://shop.example/learn/brewing
    EOT
}

trigger "educational_series" {
  plugin = "journey"
  config {
    start = ["content.engaged"]
    when  = try(event.properties.content_id, "") == "brewing-course" && customer.email != ""
    exit  = ["email.unsubscribed", "email.complained", "customer.deleted"]
    # reentry is "never" (the default): signing up again later does not
    # restart the course.

    step {
      name = "lesson_1"
    }
    step {
      name  = "lesson_2"
      delay = "2d"
    }
    step {
      name  = "lesson_3"
      delay = "2d"
    }
    step {
      name  = "lesson_4"
      delay = "2d"
    }
    # Exactly one of the next two fires: orders_count is read when the
    # step comes due, and graduation (no delay) is evaluated right after
    # graduation_offer, on the same profile.
    step {
      name  = "graduation_offer"
      delay = "2d"
      when  = customer.orders_count == 0
    }
    step {
      name = "graduation"
      when = customer.orders_count > 0
    }
  }
  action {
    channel  = "email"
    template = "educational_series_lesson_1"
    steps    = ["lesson_1"]
  }
  action {
    channel  = "email"
    template = "educational_series_lesson_2"
    steps    = ["lesson_2"]
  }
  action {
    channel  = "email"
    template = "educational_series_lesson_3"
    steps    = ["lesson_3"]
  }
  action {
    channel  = "email"
    template = "educational_series_lesson_4"
    steps    = ["lesson_4"]
  }
  action {
    channel  = "email"
    template = "educational_series_graduation_offer"
    steps    = ["graduation_offer"]
  }
  action {
    channel  = "email"
    template = "educational_series_graduation"
    steps    = ["graduation"]
  }
}
