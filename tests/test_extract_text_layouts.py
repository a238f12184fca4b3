"""extract_text on page layouts that flatten badly: tables, glued teaser cards, excerpt lists, dated card lists
and picture credits. Each test builds a small page in the shape a full-page HTML-to-text converter produces.
"""

from __future__ import annotations

from newsloom.extract.text import extract_text

PROSE = [
    ("The regional council confirmed on Monday that the new rail line will open next spring, two years later "
    "than first planned, after a long review of the costs and of the route through the valley."),
    ("Officials said the delay was caused by the need to rebuild two bridges and by a shortage of workers, "
    "and they promised that fares would stay at the level announced when the project was approved."),
    ("Residents who had waited for the line for more than a decade said they were disappointed but relieved "
    "that the work was finally going ahead, and several business owners welcomed the decision."),
]
MENU = ["Home", "News", "Sport", "Weather", "Contact"]


def _page(*parts: list[str]) -> str:
    return "\n\n".join(line for part in parts for line in part)


def test_a_tab_separated_table_after_the_article_is_kept_with_its_cells():
    rows = ["Pos\tDriver\tPoints", "1\tKyle Busch\t5040", "2\tMartin Truex Jr.\t5035", "3\tKevin Harvick\t5033"]
    article = extract_text(_page(MENU, PROSE[:1], rows, ["Copyright 2024 Example News. All rights reserved."]))
    assert "1\tKyle Busch\t5040" in article.paragraphs
    assert article.paragraphs[0] == PROSE[0]
    assert not any("Copyright" in p for p in article.paragraphs)


def test_one_tabbed_line_is_not_a_table():
    article = extract_text(_page(MENU, ["Share\tTweet"], PROSE))
    assert article.paragraphs == PROSE


def test_teaser_cards_with_headline_glued_to_excerpt_are_not_the_body():
    cards = [
        ("Customers Leave Without Paying $690 Bill At Troy SteakhouseA party of six left the restaurant without "
        "paying their bill after a long dinner, police said on Tuesday evening."),
        ("Is Violence In Sports On The Rise?Violence is part of the game in many sports but one player crossed a "
        "line that attracts the attention of the authorities this week."),
        ("Michigan To Mail Redistricting Panel Applications To 250,000The state will mail applications "
        "encouraging voters to apply to serve on the new commission next year."),
    ]
    article = extract_text(_page(MENU, cards * 2, ["Rail line delayed"], PROSE))
    assert article.paragraphs == PROSE


def test_camel_case_names_do_not_make_prose_a_teaser():
    prose = (
        "Wichita East's Hugh McPherson won first place in the 100 yard freestyle, and the MacBook Pro he won "
        "as a prize was handed over by the coach at the end of the meeting."
    )
    article = extract_text(_page(MENU, [prose], PROSE))
    assert article.paragraphs[0] == prose


def test_a_run_of_excerpts_ending_in_ellipsis_is_a_story_list():
    excerpts = [
        f"Story number {n} about the region NEW DELHI: Officials on Wednesday said that the plan for the "
        f"region would be discussed again at the next meeting of the state assembly..."
        for n in range(4)
    ]
    article = extract_text(_page(MENU, excerpts, ["Rail line delayed"], PROSE))
    assert article.paragraphs == PROSE


def test_dated_story_cards_after_the_article_are_not_the_body():
    cards = []
    for n in range(6):
        cards += [
            f"Opinion piece number {n} on the budget",
            "Jane Writer",
            "Tuesday November 19, 2019",
            (f"The budget debate number {n} in the capital has turned into a contest over who can promise the most "
            "to voters in the least time, and the results are not encouraging for anyone who has to pay the bill. "
            "Both parties have written plans that add to the debt, and neither has said how it would be repaid."),
        ]
    article = extract_text(_page(MENU, ["Rail line delayed", "November 18, 2019"], PROSE, ["Transport"], cards))
    assert article.paragraphs == PROSE


def test_picture_captions_ending_in_a_credit_are_left_out():
    caption = "Workers on the new bridge near the valley station (Image: GETTY )"
    article = extract_text(_page(MENU, PROSE[:2], [caption], PROSE[2:]))
    assert article.paragraphs == PROSE
