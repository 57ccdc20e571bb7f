"""Pages for people: the dashboard, the curation queue and the self-hosted API documentation.

Pages call the same use cases as the JSON routes (never the repositories) and hand templates
plain view objects (:mod:`service.web.views`); Jinja2 autoescapes every value.
"""
