"""Price before the click, cost after: token prices, estimates and what the history cost."""

from .estimate import Estimate, LearnedTokens, estimate
from .prices import PRICES, TokenPrices, cost_of, format_dollars, model_family, prices_for
from .spending import MonthTotal, monthly_totals, record_cost

__all__ = [
    "PRICES",
    "Estimate",
    "LearnedTokens",
    "MonthTotal",
    "TokenPrices",
    "cost_of",
    "estimate",
    "format_dollars",
    "model_family",
    "monthly_totals",
    "prices_for",
    "record_cost",
]
