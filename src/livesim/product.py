"""A product on sale, and the unit economics of its orders (docs/model.md, section 4).

`margin` is the gross margin at list price, so the unit cost is
``price * (1 - margin)`` unless the product gives `unit_cost` (RMB). A kept order of
`units` paid at ``price * (1 - d)`` earns ``units * (price * (1 - d) - unit_cost)``;
a returned one is refunded and costs `return_cost` (RMB, handling and return
shipping). A discount deeper than the margin loses money on every order it makes.

`return_rate` is the product category's (`RETURN_RATES`) unless given.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from livesim.schema import Ident, NonNeg, Positive, Prob, Strict

Category = Literal["beauty", "apparel", "food", "electronics", "other"]

#: Share of live-commerce orders returned, by category (docs/model.md, section 4:
#: apparel from "at least 30 to 50 percent" of livestream orders [C] and NRF 2023's
#: fashion 25-30% [B]; the others are assumptions below NRF's 16.5% average [B]).
RETURN_RATES: dict[str, float] = {
    "beauty": 0.06,
    "apparel": 0.35,
    "food": 0.03,
    "electronics": 0.10,
    "other": 0.10,
}

#: RMB per returned order: return shipping and handling (assumption).
RETURN_COST = 10.0


class Product(Strict):
    """A product on sale: list price (RMB), stock (units, none = unlimited), gross
    margin at list price (or a unit cost), category and returns."""

    id: Ident
    name: str = ""
    price: Positive
    stock: Annotated[int, Field(ge=0)] | None = None
    margin: Prob = 0.6
    unit_cost: NonNeg | None = None
    category: Category = "other"
    #: Filled from the category when not given (`_category_returns`).
    return_rate: Prob
    return_cost: NonNeg = RETURN_COST
    fit: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0
    units_mean: Annotated[float, Field(ge=1.0, le=20.0)] = 1.2

    @model_validator(mode="before")
    @classmethod
    def _category_returns(cls, data: Any) -> Any:
        """A product without `return_rate` takes its category's."""
        if isinstance(data, dict) and data.get("return_rate") is None:
            category = data.get("category", "other")
            known = isinstance(category, str) and category in RETURN_RATES
            # an unknown category is reported on its own line, not as a missing rate
            rate = RETURN_RATES[category] if known else RETURN_RATES["other"]
            return dict(data, return_rate=rate)
        return data

    @property
    def cost_per_unit(self) -> float:
        """RMB per unit: `unit_cost`, or the list price less the margin."""
        if self.unit_cost is not None:
            return self.unit_cost
        return self.price * (1.0 - self.margin)


__all__ = ["RETURN_COST", "RETURN_RATES", "Category", "Product"]
