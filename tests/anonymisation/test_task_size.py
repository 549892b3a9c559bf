"""How a background anonymisation is split into tasks: whole chunks, yet shared by the workers."""

from rgpd.services.anonymisation.chunks import task_size


def test_a_large_request_takes_whole_chunks_and_a_thousand_people_are_still_shared_by_workers(settings):
    settings.RGPD_ANONYMISATION_CHUNK_SIZE = 1000
    # 10 people: one task; 1,000: four tasks of 250 (workers share them); 2,000: four of 500; 10,000:
    # whole chunks of 1,000 (the fewest transactions)
    assert [task_size(people) for people in (10, 1000, 2000, 10_000)] == [250, 250, 500, 1000]


def test_a_task_never_holds_more_than_a_chunk(settings):
    settings.RGPD_ANONYMISATION_CHUNK_SIZE = 4
    assert [task_size(people) for people in (1, 10, 100)] == [4, 4, 4]
