"""Word lists and text templates of synthetic organisations: topics, departments, roles,
countries, content types and the title/body templates of each content type."""

from __future__ import annotations

TIERS = ("regular", "micro", "macro", "heavy_sharer")
EDGE_KINDS = ("email", "manager", "mention", "team")  # codes used by make_edges, sorted by name

# topic -> (label for event names, a metric one can cut, a subject)
TOPIC_TEXT = {
    "cloud": ("Cloud", "cloud costs", "multi-cloud operations"),
    "security": ("Security", "incident response time", "zero-trust security"),
    "ai": ("AI", "model serving costs", "generative AI"),
    "data": ("Data", "report build times", "self-service analytics"),
    "sustainability": ("Sustainability", "office emissions", "sustainable operations"),
    "diversity": ("Inclusion", "bias in interviews", "inclusive hiring"),
    "hiring": ("Careers", "time to hire", "career growth"),
    "product-launch": ("Launch", "release lead time", "product launches"),
    "customer-stories": ("Customer", "onboarding time", "customer success"),
    "leadership": ("Leadership", "meeting load", "leading hybrid teams"),
    "events": ("Community", "event costs", "community events"),
    "finance-results": ("Finance", "closing time", "financial planning"),
    "partnerships": ("Partner", "integration time", "partner integrations"),
    "culture": ("Culture", "onboarding friction", "our company culture"),
    "devops": ("DevOps", "deployment times", "continuous delivery"),
    "design": ("Design", "design debt", "accessible design"),
    "sales-enablement": ("Sales", "sales cycles", "sales enablement"),
    "marketing": ("Marketing", "cost per lead", "brand storytelling"),
    "remote-work": ("Future of Work", "commute hours", "hybrid work"),
    "community": ("Open Source", "review wait times", "open source"),
}
TOPICS = tuple(TOPIC_TEXT)

# departments: headcount weight, roles and favoured topics
DEPARTMENTS = {
    "Engineering": 0.27,
    "Product": 0.07,
    "Sales": 0.16,
    "Marketing": 0.08,
    "Support": 0.12,
    "Operations": 0.10,
    "HR": 0.06,
    "Finance": 0.08,
    "Legal": 0.03,
}
ROLES = {
    "Engineering": (
        "Software Engineer",
        "Site Reliability Engineer",
        "Data Engineer",
        "DevOps Engineer",
    ),
    "Product": ("Product Manager", "Product Designer", "UX Researcher"),
    "Sales": ("Account Executive", "Sales Development Representative", "Solutions Engineer"),
    "Marketing": ("Content Marketer", "Product Marketing Manager", "Social Media Manager"),
    "Support": ("Support Engineer", "Customer Success Manager", "Technical Account Manager"),
    "Operations": ("Operations Analyst", "Project Manager", "Facilities Coordinator"),
    "HR": ("Recruiter", "HR Business Partner", "People Operations Specialist"),
    "Finance": ("Financial Analyst", "Accountant", "Controller"),
    "Legal": ("Counsel", "Compliance Officer", "Paralegal"),
}
DEPT_TOPICS = {
    "Engineering": ("cloud", "devops", "ai", "data", "security"),
    "Product": ("product-launch", "design", "ai", "data"),
    "Sales": ("sales-enablement", "customer-stories", "partnerships", "events"),
    "Marketing": ("marketing", "events", "product-launch", "customer-stories"),
    "Support": ("customer-stories", "product-launch", "remote-work"),
    "Operations": ("sustainability", "remote-work", "community"),
    "HR": ("hiring", "diversity", "culture", "leadership"),
    "Finance": ("finance-results", "leadership", "data"),
    "Legal": ("security", "leadership", "finance-results"),
}
REGIONS = ("EMEA", "NA", "LATAM", "APAC")
LANGUAGES = ("en", "de", "fr", "es", "pt", "ja", "nl")

# country -> (region, languages, headcount weight, cities, UTC offset in hours)
COUNTRIES = {
    "US": ("NA", ("en",), 0.28, ("New York", "Austin", "San Francisco"), -6),
    "CA": ("NA", ("en", "fr"), 0.04, ("Toronto", "Montreal"), -5),
    "DE": ("EMEA", ("de", "en"), 0.12, ("Berlin", "Munich", "Hamburg"), 1),
    "FR": ("EMEA", ("fr", "en"), 0.08, ("Paris", "Lyon"), 1),
    "GB": ("EMEA", ("en",), 0.10, ("London", "Manchester"), 0),
    "ES": ("EMEA", ("es", "en"), 0.05, ("Madrid", "Barcelona"), 1),
    "NL": ("EMEA", ("nl", "en"), 0.03, ("Amsterdam",), 1),
    "BR": ("LATAM", ("pt", "en"), 0.06, ("Sao Paulo",), -3),
    "MX": ("LATAM", ("es", "en"), 0.04, ("Mexico City",), -6),
    "JP": ("APAC", ("ja", "en"), 0.05, ("Tokyo", "Osaka"), 9),
    "IN": ("APAC", ("en",), 0.08, ("Bangalore", "Pune"), 5),
    "SG": ("APAC", ("en",), 0.03, ("Singapore",), 8),
    "AU": ("APAC", ("en",), 0.04, ("Sydney", "Melbourne"), 10),
}

CONTENT_TYPES = ("article", "job", "event", "product", "culture", "video")

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
TITLES = {
    "article": (
        "How our {team} team cut {metric} by {pct}%",
        "{n} lessons we learned about {subject}",
        "What {subject} means for our customers in {year}",
        "Inside our approach to {subject}",
    ),
    "job": (
        "We're hiring: {level}{role} in {city}",
        "Join our {dept} team as {level}{role} ({city})",
    ),
    "event": (
        "Join us at {label} Summit {city} on {date}",
        "Webinar on {date}: {subject} with our experts",
        "Meet our team at {label} Days {city} on {date}",
    ),
    "product": (
        "Introducing {product}: {subject} made simple",
        "{product} {version} is here: cut {metric} by {pct}%",
    ),
    "culture": (
        "A day in the life of our {team} team in {city}",
        "Why we care about {subject}",
        "{n} things our {team} team does for {subject}",
    ),
    "video": (
        "Watch: {subject} explained in {mins} minutes",
        "Video: our {team} team on {subject}",
    ),
}
BODIES = {
    "article": (
        "Our {team} team shares what worked and what did not.",
        "The short version: start small, measure everything and involve people early.",
        "Read the full story to see how {subject} changed the way we work.",
    ),
    "job": (
        "You will work with a friendly {team} team in {city}.",
        "We offer flexible hours, a learning budget and a strong focus on {subject}.",
        "Apply now or share this role with someone great.",
    ),
    "event": (
        "Expect talks, demos and plenty of time to meet our experts.",
        "This year's focus is {subject}.",
        "Seats are limited, so register early.",
    ),
    "product": (
        "{product} {version} brings new features for teams that care about {subject}.",
        "Customers in the beta saw results within weeks.",
        "Try it and tell us what you think.",
    ),
    "culture": (
        "We asked colleagues in {city} what makes work here special.",
        "Their answers say a lot about {subject}.",
        "Read their stories and share your own.",
    ),
    "video": (
        "In this short video our {team} experts talk about {subject}.",
        "It takes {mins} minutes and covers the essentials.",
        "Watch it and pass it on.",
    ),
}
