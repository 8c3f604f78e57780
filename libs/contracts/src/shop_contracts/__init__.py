"""Wire contract between the orders and products services.

Everything that crosses the boundary between the two services lives here: the
pydantic DTOs, the stable problem ``code`` values, the domain exceptions both
product clients raise, and the API paths. Changing anything here is an API
change for both sides.
"""
