"""Provider states and fixed ids shared by the consumer pact and the provider's state handler.

Every state named here must have a handler in ``tests/contract/provider``:
the verifier retries an unknown state for about two minutes before failing.
"""

from uuid import UUID

PRODUCT_EXISTS = "a product exists"
PRODUCT_DOES_NOT_EXIST = "no product has the id"
NO_RESERVATION_WITH_KEY = "no reservation has the key"
RESERVATION_MADE = "a reservation was made with the key"
RESERVATION_HELD = "a held reservation exists"
RESERVATION_LAPSED = "a held reservation has lapsed"
RESERVATION_RELEASED = "a released reservation exists"
RESERVATION_DOES_NOT_EXIST = "no reservation has the id"

ALL_STATES = frozenset(
    {
        PRODUCT_EXISTS,
        PRODUCT_DOES_NOT_EXIST,
        NO_RESERVATION_WITH_KEY,
        RESERVATION_MADE,
        RESERVATION_HELD,
        RESERVATION_LAPSED,
        RESERVATION_RELEASED,
        RESERVATION_DOES_NOT_EXIST,
    }
)

MUG = UUID("7d9f3c1e-2b4a-4c8e-9f10-5a6b7c8d9e01")
LAMP = UUID("7d9f3c1e-2b4a-4c8e-9f10-5a6b7c8d9e02")
UNKNOWN_PRODUCT = UUID("7d9f3c1e-2b4a-4c8e-9f10-5a6b7c8d9eff")
HELD = UUID("4b1e9a70-6c2d-4f3e-8a91-0b2c3d4e5f01")
LAPSED = UUID("4b1e9a70-6c2d-4f3e-8a91-0b2c3d4e5f02")
RELEASED = UUID("4b1e9a70-6c2d-4f3e-8a91-0b2c3d4e5f03")
UNKNOWN_RESERVATION = UUID("4b1e9a70-6c2d-4f3e-8a91-0b2c3d4e5fff")

# The pact records a placeholder; the provider verification sends its own token.
PLACEHOLDER_SERVICE_TOKEN = "pact-placeholder-service-token"
