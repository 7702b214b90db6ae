"""Class 3 follow-up: a blueprint's personal_data declaration is checked, and normalising it never
changes what the production-data policy reads from it (``migrations_tool.policy.PersonalData``)."""

from hypothesis import given
from hypothesis import strategies as st

from environments.models import Blueprint
from environments.personal_data import personal_data_clean, personal_data_normalised
from migrations_tool.policy import PersonalData

column = st.from_regex(r"\A[a-z_]{1,10}\.[a-z_]{1,10}\Z")
pattern = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=1, max_size=30)
valid = st.one_of(
    st.lists(column, max_size=5),  # the legacy list of MariaDB columns
    st.fixed_dictionaries({}, optional={"mysql": st.lists(column, max_size=5), "redis": st.lists(pattern, max_size=5),
                                        "s3": st.lists(pattern, max_size=5)}))
junk = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)


def meaning(declared) -> dict:
    return {kind: sorted(set(entries)) for kind, entries in PersonalData.of(Blueprint(personal_data=declared))
            .declared.items()}


@given(valid)
def test_normalising_keeps_the_policys_meaning(declared):
    normalised, errors = personal_data_clean(declared)
    assert errors == {}
    assert meaning(normalised) == meaning(declared)
    assert normalised == meaning(normalised)  # what the document, API and page show is what the policy reads
    assert personal_data_normalised(normalised) == normalised  # once is enough


def test_an_empty_declaration_is_shown_as_the_policy_reads_it():
    """Nothing declared classifies nothing, MariaDB included (copies out of production need an admin)."""
    for empty in ([], {}, None):
        assert personal_data_normalised(empty) == meaning(empty) == {}


@given(junk)
def test_any_value_is_accepted_or_refused_with_a_reason_never_a_crash(declared):
    normalised, errors = personal_data_clean(declared, prefix="spec.")
    if errors:
        assert normalised == {} and all(path.startswith("spec.personal_data") and messages
                                        for path, messages in errors.items())
    else:
        assert meaning(normalised) == meaning(declared)
