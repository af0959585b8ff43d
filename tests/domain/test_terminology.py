from paydraw.domain.terminology import WORDS, Terminology, words


class TestWords:
    def test_each_terminology_reads_in_its_own_words(self) -> None:
        assert words(Terminology.GENERAL_CONTRACTOR)["billing"] == "Invoicing"
        assert words(Terminology.OWNER)["billing"] == "Funding"
        assert words(Terminology.SPECIALTY_CONTRACTOR)["billing"] == "Progress Billings"
        assert words(Terminology.GENERAL_CONTRACTOR)["pay_app"] == "Pay application"
        assert words(Terminology.OWNER)["pay_app"] == "Draw request"

    def test_every_terminology_has_every_label(self) -> None:
        assert set(WORDS) == set(Terminology)
        keys = set(words(Terminology.GENERAL_CONTRACTOR))
        assert {"billing", "pay_app", "commitment", "invite", "period", "vendor"} <= keys
        assert all(set(words(terminology)) == keys for terminology in Terminology)
