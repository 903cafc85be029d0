"""The bulk reads of the benchmark (bench/run.py: bulk_scores_vs_floor, feed_vs_floor): the
pages it loads are the read's pages, each by the previous one's cursor, and the items it
counts are the items the read answers (per member / entry returned, issue 20)."""

from __future__ import annotations

from bench.run import bulk_pages
from tests.api.support import World, ok
from tests.api.test_year_workflow import run_quarter


def test_the_bulk_score_read_is_paged_by_its_cursor_and_every_member_counted(
        world: World) -> None:
    headers = tuple(world.as_("admin").items())
    first = f"/api/v1/orgs/{world.party}/scores?year=2025&limit=2"
    pages = bulk_pages(world.client, headers, first, most=100)
    whole = ok(world.get("admin", f"/orgs/{world.party}/scores", year=2025, limit=500))
    assert whole["next"] is None
    assert sum(n for _, n in pages) == whole["total"] == len(whole["items"]) > 2
    assert [n for _, n in pages][:-1] == [2] * (len(pages) - 1)
    assert pages[0][0].path == first and "&after=" in pages[1][0].path
    # Each page the load would send answers the items counted for it.
    seen = []
    for request, n in pages:
        answer = ok(world.client.get(request.path, headers=dict(request.headers)))
        assert len(answer["items"]) == n
        seen += [i["member_id"] for i in answer["items"]]
    assert seen == [i["member_id"] for i in whole["items"]]
    # At most `most` pages.
    assert len(bulk_pages(world.client, headers, first, most=2)) == 2


def test_the_change_feed_is_paged_by_its_cursor_and_every_entry_counted(
        world: World) -> None:
    run_quarter(world, 1)
    headers = tuple(world.as_("admin").items())
    first = "/api/v1/entries?updated_since=2000-01-01T00:00:00Z&limit=3"
    pages = bulk_pages(world.client, headers, first, most=100)
    whole = ok(world.get("admin", "/entries", updated_since="2000-01-01T00:00:00Z",
                         limit=500))
    assert len(whole["items"]) > 3
    assert sum(n for _, n in pages) == len(whole["items"])
    assert len(pages) == -(-len(whole["items"]) // 3)
