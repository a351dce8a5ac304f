"""The answerability decision: the evidence it weighs, its rules, and refusal reasons that are true."""

from __future__ import annotations

import pytest

from assistant.answer.answerability import (
    DIRECTIONS,
    FEATURES,
    AnswerabilityModel,
    Evidence,
    Sentence,
    asks_figure,
    figure_fit,
    missing_name,
    specificity,
    states_figure,
)
from assistant.errors import ConfigError
from assistant.pipeline import Assistant
from assistant.search.lexical import analyze


def sentence(text: str) -> Sentence:
    return Sentence(text, frozenset(analyze(text)))


def test_everyday_words_weigh_little_and_domain_words_a_lot() -> None:
    assert specificity("honestly") < specificity("credentialing")
    assert specificity("the") == 0.0
    assert specificity("best") < 1.0 < specificity("privileging")


@pytest.mark.parametrize(
    ("question", "figure"),
    [
        ("How long does the CMO have to report an SSE?", True),
        ("how soon do i have to file a safety report?", True),
        ("How much does a chief medical officer make per year?", True),
        ("how much business and financial knowledge does a CMO need?", False),
        ("do I still pay medical staff dues while on leave?", False),
        ("what's the on-call pay on holidays?", True),
        ("is there extra pay for backup call?", True),
        ("how much is weeknight call?", True),
        ("who signs off on the call pay rates every year?", False),
        ("What does a CMO do?", False),
    ],
)
def test_figure_questions_are_those_that_ask_for_a_figure(question: str, figure: bool) -> None:
    assert asks_figure(question) is figure


STRONG = dict(best=0.8, coverage=1.0, unknown=0.0, figure_missing=0.0)
WEAK = dict(best=0.3, coverage=0.1, unknown=0.8, figure_missing=1.0)


def test_the_model_file_is_fitted_on_dev_with_its_curve() -> None:
    model = AnswerabilityModel.load()
    assert model.features == FEATURES and len(model.weights) == len(FEATURES)
    assert model.fitted["split"] == "dev" and model.fitted["curve"]
    assert 0.0 < model.threshold < 1.0
    strong = Evidence(**STRONG)
    weak = Evidence(**WEAK)
    assert model.answerable(strong) and not model.answerable(weak)
    assert model.probability(strong) > model.probability(weak)


def test_the_fitted_weights_point_the_way_their_evidence_does() -> None:
    """More similarity or coverage never lowers the probability of answering; unknown words or a missing figure
    never raise it."""
    model = AnswerabilityModel.load()
    for name, weight in zip(model.features, model.weights, strict=True):
        assert weight * DIRECTIONS[name] >= 0, (name, weight)


def test_a_model_file_that_would_divide_by_zero_is_refused_with_what_to_do() -> None:
    """A feature the fitted cases never varied had a scale of 0 written out, and every question then came out
    refused (its probability not a number)."""
    with pytest.raises(ConfigError, match="calibrate_answerability"):
        AnswerabilityModel(
            weights=(1.0, 0.0, 0.0, 0.0),
            bias=0.0,
            mean=(0.5, 0.5, 0.0, 0.0),
            scale=(0.1, 0.3, 0.04, 0.0),
            threshold=0.5,
        )


def test_a_missing_name_money_or_figure_is_refused_whatever_the_similarity() -> None:
    model = AnswerabilityModel.load()
    assert not model.answerable(Evidence(**STRONG, missing_name="Mayo Clinic"))
    assert not model.answerable(Evidence(**STRONG, money_missing=True))
    assert not model.answerable(Evidence(**{**STRONG, "figure_missing": 1.0}))


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    ["how much do we get paid for taking weekend call", "what do they pay for a weeknight on call?"],
)
def test_a_money_question_is_answered_when_an_amount_is_stated_about_what_it_asks(
    shipped: Assistant, question: str
) -> None:
    """ "Weekend call: $2,400 for the full weekend." answers how much weekend call pays, however loosely the
    question's wording matches the list entry in meaning."""
    answer = shipped.ask(question)
    assert answer.answered, answer.answer
    assert "$" in answer.answer.split("\n")[0], answer.answer


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "Do I get a stipend for taking after-hours phone calls from my own clinic patients?",
        "do I get paid for clinic phone calls at night?",
    ],
)
def test_a_money_question_is_answered_by_a_sentence_saying_there_is_none(
    shipped: Assistant, question: str
) -> None:
    """ "Clinic telephone call earns no stipend ..." states what clinic telephone call pays: nothing."""
    answer = shipped.ask(question)
    assert answer.answered, answer.answer
    assert answer.answer.startswith("Clinic telephone call earns no stipend"), answer.answer


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("Honestly, what does a CMO do all day?", ""),
        ("Aren't CMOs just senior doctors?", ""),
        ("I'm 62. Do I still have to take call?", ""),
        # "I" with an apostrophe ending is still the pronoun
        ("and how many years before I'd be ready?", ""),
        ("how long until I'll be considered for CMO?", ""),
        ("How is a hospital CMO's job different from an FQHC CMO's?", ""),
        ("ok and what about for FQHCs? same thing?", ""),
        ("Do MHCs have a CMO?", "MHCs"),
        ("What are the CMO's duties under the HRSA Health Center Program?", ""),
        (
            "is the Certified Physician Executive credential required to be a CMO?",
            "Certified Physician Executive",
        ),
        ("what does JCAHO require of a hospital CMO?", "JCAHO"),
        # named as asked, with the word joining them
        ("what's the difference between HFAP and Joint Commission standards?", "HFAP and Joint Commission"),
        ("Do CMOs get a say in switching EHR systems?", ""),
        # a day or a month is capitalised, not a name
        ("I'm on backup call this Saturday night - does backup pay anything?", ""),
        ("does the MEC meet in August?", ""),
        # a name misspelt is the name the sources use; an acronym is not a misspelt one
        ("Do CMOs handle acreditation stuff like Joint Commision surveys?", ""),
        ("how do I become a CMIO?", "CMIO"),
    ],
)
def test_only_real_names_the_sources_lack_are_taken_for_names(
    shipped: Assistant, question: str, name: str
) -> None:
    spelled_out = {t.acronym.lower(): tuple(t.expansions) for t in shipped.stages.glossary.terms}
    assert missing_name(question, shipped.corpus_index(), spelled_out) == name


@pytest.mark.slow
def test_a_figure_must_be_about_the_asked_subject(shipped: Assistant) -> None:
    index = shipped.corpus_index()
    question = "How long does a new CMO have to present the leadership plan?"
    on_subject = sentence("A new CMO presents the approved leadership plan to the board within 90 days.")
    other = sentence("Near misses must be reported within 24 hours.")
    assert states_figure(question, [on_subject], index, best=1.0)
    assert not states_figure(question, [other], index, best=1.0)


@pytest.mark.slow
def test_a_figure_about_less_than_half_the_asked_subject_is_not_the_asked_figure(shipped: Assistant) -> None:
    """The feedback deadline shares "escalation" and "unit" with a question about how long escalation logs are
    archived, under half of what it asks about: it opens no answer to it, and the question is refused."""
    index = shipped.corpus_index()
    question = "How long is an escalation log archived by the unit?"
    text = "The staff member who escalated receives feedback on the outcome from the unit leader within 10 business days."
    feedback = Sentence(text, frozenset(analyze(text)), similarity=0.5)
    assert 1 / 3 <= figure_fit(question, feedback, index) < 0.5
    assert not states_figure(question, [feedback], index, best=0.9)


@pytest.mark.slow
def test_one_as_a_pronoun_is_no_figure(shipped: Assistant) -> None:
    """ "CMOs juggle duties in tension with one another" counts nothing: it does not say how many CMOs are women."""
    index = shipped.corpus_index()
    question = "how many CMOs are women"
    pronoun = sentence("CMOs' responsibilities are also in tension with one another as they juggle duties.")
    counting = sentence("One in four CMOs are women.")
    assert not states_figure(question, [pronoun], index, best=1.0)
    assert states_figure(question, [counting], index, best=1.0)


@pytest.mark.slow
def test_a_figure_of_the_asked_kind_closest_in_meaning_answers_with_a_fifth_of_the_questions_subject(
    shipped: Assistant,
) -> None:
    """ "Privileges are processed from receipt to Board decision within 90 days." holds "privileges" and nothing
    else of "privileges approved ... start to finish", but it is the closest in meaning and states a duration: it
    answers. As close in meaning without a word of the subject it does not: being near in meaning alone let "The
    CMO decides on reinstatement after a leave of up to 12 months" answer how long CMOs stay in the job. A
    sentence far from the best match, or as close stating a count, does not answer "how long" either."""
    index = shipped.corpus_index()
    question = "how long does it take to get privileges approved from start to finish?"

    def stated(text: str) -> Sentence:
        return Sentence(text, frozenset(analyze(text)), similarity=0.60)

    named = stated("Privileges are processed from receipt to Board decision within 90 days.")
    unnamed = stated(
        "A complete initial application is processed from receipt to Board decision within 90 days."
    )
    count = stated("The committee reviews 10 files.")
    assert states_figure(question, [named], index, best=0.60)
    assert not states_figure(question, [named], index, best=0.70)  # far from the best match: not enough
    assert not states_figure(question, [unnamed], index, best=0.60)
    assert not states_figure(question, [count], index, best=0.60)


@pytest.mark.slow
def test_a_figure_from_the_closest_sentence_about_something_else_is_refused(shipped: Assistant) -> None:
    """Asked how long CMOs stay in the job, the closest sentence in meaning is the leave policy's "The CMO
    decides on reinstatement after a leave of up to 12 months ...": a length of time about a leave, not about
    a CMO's tenure. The question is refused as one whose figure the sources lack."""
    answer = shipped.ask("how long do CMOs usually stay in the job?")
    assert not answer.answered, answer.answer
    assert "don't give that figure" in answer.answer, answer.answer


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("How much does a chief medical officer make per year?", "don't give that figure"),
        ("Who is the current chief medical officer of the Cleveland Clinic?", "Cleveland Clinic"),
        ("Honestly, what is the best pizza topping?", "can't answer that"),
    ],
)
def test_refusal_reasons_are_true(shipped: Assistant, question: str, reason: str) -> None:
    answer = shipped.ask(question)
    assert not answer.answered
    assert reason in answer.answer
    assert "Honestly" not in answer.answer
