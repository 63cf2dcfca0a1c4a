"""A staged batch's body: each document under its place in the batch, whoever builds it when, in
chunks whose concatenation is one JSON object."""

import json
import threading

from sinks import staging


def _places(body: bytes) -> list[tuple[str, dict]]:
    return list(json.loads(body, object_pairs_hook=lambda pairs: pairs))


def test_each_document_stands_under_its_place_in_the_batch():
    docs = [json.dumps({"review_id": f"R{i}"}).encode() for i in range(3)]
    assert json.loads(b"".join(staging.body(docs))) == {"0": {"review_id": "R0"}, "1": {"review_id": "R1"},
                                              "2": {"review_id": "R2"}}


def test_a_batch_longer_than_any_before_gets_keys_for_all_its_documents():
    staging._keys = ()
    for n in (1, 1500, 5000):
        places = _places(b"".join(staging.body([b'{"a":1}'] * n)))
        assert [k for k, _ in places] == [str(i) for i in range(n)]


def test_threads_staging_batches_at_once_each_get_their_own_places():
    # The rebuild stages several topics' batches on threads at once.
    staging._keys = ()
    sizes = [2000 + 3000 * i for i in range(8)]
    bodies: dict[int, bytes] = {}
    start = threading.Barrier(len(sizes))

    def stage(n: int) -> None:
        start.wait()
        for _ in range(20):
            bodies[n] = b"".join(staging.body([b'{"a":1}'] * n))
            json.loads(bodies[n])

    threads = [threading.Thread(target=stage, args=(n,)) for n in sizes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n, body in bodies.items():
        assert [k for k, _ in _places(body)] == [str(i) for i in range(n)]
