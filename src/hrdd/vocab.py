"""Controlled vocabularies shared by every domain.

One list per concept, so the questionnaire, the evidence files, the scoring rules, the API and
the reports all speak the same words. Values are stable identifiers stored in the database and
in content files: add new members, never rename existing ones.
"""

from enum import StrEnum
from typing import Any, Final

import pycountry

# Words that identifiers spell in lower case and people write in capitals.
_ACRONYMS = {"ngo": "NGO"}


# ISO 3166-1 alpha-2 country codes and ISO 4217 currency codes, from pycountry's copy of the
# standards, upper case as they are written in content files and API bodies.
COUNTRY_CODES: Final = frozenset(country.alpha_2 for country in pycountry.countries)
# Less the codes for "no currency involved" (numeric 999) and for testing (963): no holding is
# valued in them.
_NOT_FOR_VALUES = {"999", "963"}
CURRENCY_CODES: Final = frozenset(
    currency.alpha_3 for currency in pycountry.currencies if currency.numeric not in _NOT_FOR_VALUES
)


def words_of(value: Any) -> str:
    """A vocabulary member or content identifier as words inside a sentence:
    human_rights_defenders -> human rights defenders, ngo_report -> NGO report."""
    return " ".join(_ACRONYMS.get(word, word) for word in str(value).split("_"))


def enum_label(value: Any) -> str:
    """The same words as a label, capitalised: self_reported -> Self reported."""
    text = words_of(value)
    return text[:1].upper() + text[1:]


class Role(StrEnum):
    investor = "investor"
    analyst = "analyst"
    admin = "admin"


class TechnologyCategory(StrEnum):
    spyware_intrusion = "spyware_intrusion"
    deep_packet_inspection = "deep_packet_inspection"
    interception = "interception"
    forensic_extraction = "forensic_extraction"
    facial_recognition = "facial_recognition"
    osint_monitoring = "osint_monitoring"
    other = "other"


class ListingStatus(StrEnum):
    listed = "listed"
    private = "private"
    delisted = "delisted"
    defunct = "defunct"


class OwnerKind(StrEnum):
    company = "company"
    private_equity = "private_equity"
    fund = "fund"
    investor = "investor"
    individual = "individual"
    other = "other"


class EvidenceType(StrEnum):
    forensic_finding = "forensic_finding"
    trade_restriction_listing = "trade_restriction_listing"
    delisting = "delisting"
    sanction = "sanction"
    sanction_lifted = "sanction_lifted"
    lawsuit_filed = "lawsuit_filed"
    court_ruling = "court_ruling"
    investigative_journalism = "investigative_journalism"
    export_licence_granted = "export_licence_granted"
    export_licence_revoked = "export_licence_revoked"
    regulatory_action = "regulatory_action"
    company_statement = "company_statement"
    remediation = "remediation"


class AffectedGroup(StrEnum):
    journalists = "journalists"
    human_rights_defenders = "human_rights_defenders"
    lawyers = "lawyers"
    politicians = "politicians"
    minorities = "minorities"
    general_public = "general_public"


class SourceClass(StrEnum):
    forensic_lab = "forensic_lab"
    court_or_government_record = "court_or_government_record"
    major_investigative_outlet = "major_investigative_outlet"
    ngo_report = "ngo_report"
    media_report = "media_report"
    company_statement = "company_statement"
    unverified = "unverified"


# An item's class is its most reliable source's: these mean no source but the company (or none
# that can be checked) vouches for it, so it does not end a listing or remedy harm on its own.
THE_COMPANYS_WORD = frozenset({SourceClass.company_statement, SourceClass.unverified})


class CompanyRole(StrEnum):
    """UNGP 13/19: how the company is connected to the harm."""

    caused = "caused"
    contributed = "contributed"
    directly_linked = "directly_linked"


class EvidenceStatus(StrEnum):
    ongoing = "ongoing"
    remediated = "remediated"


class ResponseKind(StrEnum):
    """What the company did about an allegation (CHRB theme E)."""

    public_response = "public_response"
    engagement_with_affected = "engagement_with_affected"
    remedy = "remedy"


class FulfilmentStatus(StrEnum):
    verified = "verified"
    self_reported = "self_reported"
    not_implemented = "not_implemented"
    contradicted = "contradicted"


class DisclosureLevel(StrEnum):
    """Element-level answer states, as Ranking Digital Rights records them."""

    full = "full"
    partial = "partial"
    no = "no"
    no_information = "no_information"
    not_applicable = "not_applicable"


# A disclosure level as readers see it, in reports and in a score's reasons.
DISCLOSURE_LEVEL_WORDS = {
    DisclosureLevel.full: "Full",
    DisclosureLevel.partial: "Partial",
    DisclosureLevel.no: "No",
    DisclosureLevel.no_information: "No information found",
    DisclosureLevel.not_applicable: "Not applicable",
}


class AnswerSource(StrEnum):
    """Who stands behind a source an answer cites. Promises are not evidence: a practice the
    company alone vouches for counts as self-reported under rule sets that say so."""

    company = "company"  # the company's own pages, reports, statements, replies to investors
    independent = "independent"  # anyone else: lab, court, regulator, NGO, press, auditor


class DatePrecision(StrEnum):
    """How much of a date the sources actually give."""

    day = "day"
    month = "month"
    year = "year"


class RiskBand(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    severe = "severe"


class Confidence(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


class InvestorAction(StrEnum):
    """The escalation ladder, least to most severe (UNGP 19 leverage)."""

    monitor = "monitor"
    engage = "engage"
    escalate_collectively = "escalate_collectively"
    vote_or_file_resolution = "vote_or_file_resolution"
    divest_or_exclude = "divest_or_exclude"


class AssessmentStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    final = "final"
    superseded = "superseded"
