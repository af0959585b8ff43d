"""Terminology: the same screens and emails in the words each kind of company bills in.

Labels only, one table of words; the rules and the API never change with it.
"""

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class Terminology(StrEnum):
    GENERAL_CONTRACTOR = "general_contractor"
    OWNER = "owner"
    SPECIALTY_CONTRACTOR = "specialty_contractor"


WORDS: Mapping[Terminology, Mapping[str, str]] = MappingProxyType(
    {
        Terminology.GENERAL_CONTRACTOR: MappingProxyType(
            {
                "billing": "Invoicing",
                "pay_app": "Pay application",
                "pay_apps": "Pay applications",
                "commitment": "Subcontract",
                "commitments": "Subcontracts",
                "invite": "Invite to bill",
                "period": "Billing period",
                "vendor": "Subcontractor",
            }
        ),
        Terminology.OWNER: MappingProxyType(
            {
                "billing": "Funding",
                "pay_app": "Draw request",
                "pay_apps": "Draw requests",
                "commitment": "Contract",
                "commitments": "Contracts",
                "invite": "Request a draw",
                "period": "Funding period",
                "vendor": "Contractor",
            }
        ),
        Terminology.SPECIALTY_CONTRACTOR: MappingProxyType(
            {
                "billing": "Progress Billings",
                "pay_app": "Progress billing",
                "pay_apps": "Progress billings",
                "commitment": "Contract",
                "commitments": "Contracts",
                "invite": "Invite to bill",
                "period": "Billing period",
                "vendor": "Sub-tier contractor",
            }
        ),
    }
)


def words(terminology: Terminology) -> Mapping[str, str]:
    """The labels for `terminology`, every one keyed the same way in each dictionary."""
    return WORDS[terminology]
