"""Single sign-on accounts: what the provider's claims mean here (role, skills,
username), and finding, making or taking over the account, on both databases.

The way through a real provider is ``tests/signalling/test_sso_login.py``.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from office.db import session_factory
from office.models import AuditEntry, Clerk, Role
from office.oidc import Identity, SsoRefused
from office.sso_accounts import USERNAME_TAKEN, ClaimMapping, SsoAccounts
from office.staff import Staff
from tests.helpers.clock import Clock

ISSUER = "https://login.stadt.test/realms/verwaltung"
MAPPING = ClaimMapping(
    role_claim="groups",
    roles={"bb-sachbearbeitung": Role.CLERK, "bb-verwaltung": Role.ADMIN, "bb-dsb": Role.DPO},
    skill_claim="groups",
    skill_prefix="bb-skill-",
)


def identity(sub: str = "sub-1", issuer: str = ISSUER, **claims: Any) -> Identity:
    claims = {"preferred_username": "lena", "name": "Lena Lang", **claims}
    return Identity(issuer, sub, {"sub": sub, **claims}, id_token="x.y.z")


@pytest.fixture
def staff(engine: AsyncEngine, clock: Clock) -> Staff:
    return Staff(session_factory(engine), now=clock)


async def audit_of(staff: Staff, action: str) -> list[AuditEntry]:
    async with staff.sessions() as session:
        return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# -- what the claims mean ------------------------------------------------------------------


def test_the_strongest_mapped_role_wins_and_unmapped_groups_mean_nothing() -> None:
    assert MAPPING.role({"groups": ["bb-sachbearbeitung", "bb-verwaltung"]}) is Role.ADMIN
    assert MAPPING.role({"groups": ["bb-dsb", "bb-sachbearbeitung"]}) is Role.CLERK
    assert MAPPING.role({"groups": ["bb-dsb"]}) is Role.DPO
    assert MAPPING.role({"groups": ["kantine", "BB-VERWALTUNG"]}) is None  # exact names
    assert MAPPING.role({"groups": "bb-verwaltung"}) is Role.ADMIN  # a single string
    assert MAPPING.role({}) is None


def test_a_dotted_claim_reaches_into_nested_objects() -> None:
    keycloak = ClaimMapping("realm_access.roles", {"buergerbuero": Role.CLERK}, "groups", "s-")
    assert keycloak.role({"realm_access": {"roles": ["offline_access", "buergerbuero"]}}) == "clerk"
    assert keycloak.role({"realm_access": ["buergerbuero"]}) is None


def test_skills_are_the_prefixed_values_without_their_prefix() -> None:
    groups = ["bb-skill-meldewesen", "bb-skill-beratung", "bb-skill-", "kantine", "bb-skill-x" * 9]
    assert MAPPING.skills({"groups": [*groups, "bb-skill-meldewesen"]}) == [
        "beratung",
        "meldewesen",
    ]


@pytest.mark.parametrize(
    ("wanted", "username"),
    [
        ("Lena.Lang", "lena.lang"),
        ("lena.lang@stadt.test", "lena.lang-stadt.test"),
        ("l_l", "l-l"),
        ("", "sso-"),  # none given: one made from the subject
        ("ä", "sso-"),
    ],
)
def test_the_username_is_the_providers_in_our_characters(wanted: str, username: str) -> None:
    made = MAPPING.username(identity(preferred_username=wanted))
    assert made.startswith(username) and 3 <= len(made) <= 64
    assert made == MAPPING.username(identity(preferred_username=wanted))  # stable


# -- the accounts ---------------------------------------------------------------------------


async def test_a_username_held_by_a_local_account_is_not_taken_over_unless_allowed(
    staff: Staff,
) -> None:
    local = await staff.create("lena", "Lena (lokal)", "a long local password", role=Role.CLERK)
    with pytest.raises(SsoRefused) as refused:
        await SsoAccounts(staff, MAPPING).sign_in(identity(groups=["bb-verwaltung"]))
    assert refused.value.reason == "username_taken" and refused.value.message == USERNAME_TAKEN
    assert (await staff.get(local.id)).role == "clerk"
    [row] = await audit_of(staff, "staff.sso_refused")
    assert row.subject == "clerk:unknown" and row.detail == {"reason": "username_taken"}

    # A town moving its accounts to single sign-on allows it: the account is kept (its
    # id, its history), now bound to the provider's subject, its sessions ended.
    linking = SsoAccounts(staff, replace(MAPPING, link_by_username=True))
    session = await staff.open_session(local.id)
    assert await linking.sign_in(identity(groups=["bb-verwaltung", "bb-skill-beratung"])) == (
        local.id
    )
    assert await staff.session_clerk(session) is None
    linked = await staff.get(local.id)
    assert (linked.sso_issuer, linked.sso_subject, linked.role) == (ISSUER, "sub-1", "admin")
    assert [s.skill for s in linked.skills] == ["beratung"]
    [row] = await audit_of(staff, "staff.sso_linked")
    assert row.actor == "sso" and row.detail == {"role": "admin", "skills": ["beratung"]}
    # From now on the subject finds it, whatever the username says.
    renamed = identity(preferred_username="lena.lang", groups=["bb-verwaltung"])
    assert await SsoAccounts(staff, MAPPING).sign_in(renamed) == local.id


async def test_a_subject_counts_only_together_with_its_issuer(staff: Staff) -> None:
    accounts = SsoAccounts(staff, MAPPING)
    first = await accounts.sign_in(identity(groups=["bb-sachbearbeitung"]))
    other = identity(
        issuer="https://other.test", preferred_username="lena2", groups=["bb-sachbearbeitung"]
    )
    assert await accounts.sign_in(other) != first


async def test_two_first_logins_at_once_make_one_account(staff: Staff) -> None:
    accounts = SsoAccounts(staff, MAPPING)
    person = identity(groups=["bb-sachbearbeitung", "bb-skill-meldewesen"])
    ids = await asyncio.gather(accounts.sign_in(person), accounts.sign_in(person))
    assert ids[0] == ids[1]
    async with staff.sessions() as session:
        clerks = list(await session.scalars(select(Clerk)))
    assert [(c.username, c.role) for c in clerks] == [("lena", "clerk")]
    assert len(await audit_of(staff, "staff.created")) == 1
