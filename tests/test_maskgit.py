import torch

from genie_play.world.maskgit import maskgit_sample

B, N, K = 2, 12, 10
MASK = K


def random_logits(ids):
    g = torch.Generator().manual_seed(int(ids.sum()) % 1000)  # deterministic in the input, like a network
    return torch.randn(ids.shape[0], ids.shape[1], K, generator=g)


def gens(*seeds):
    return [torch.Generator().manual_seed(s) for s in seeds]


def test_all_known_positions_are_reproduced():
    ids = torch.randint(0, K, (B, N))
    out = maskgit_sample(random_logits, ids.clone(), MASK, maskgit_steps=8, temperature=2.0, generators=gens(0, 1))
    assert torch.equal(out, ids)


def test_partially_known_frames_keep_their_tokens_and_fill_the_rest():
    ids = torch.randint(0, K, (B, N))
    ids[:, ::3] = MASK
    out = maskgit_sample(random_logits, ids.clone(), MASK, 4, 1.0, gens(0, 1))
    known = ids != MASK
    assert torch.equal(out[known], ids[known])
    assert (out != MASK).all() and out.max() < K


def test_every_step_count_unmasks_everything_on_a_cosine_schedule():
    seen = []

    def counting(ids):
        seen.append(int((ids == MASK).sum()))
        return random_logits(ids)

    for steps in (1, 2, 5, 12, 25):
        seen.clear()
        out = maskgit_sample(counting, torch.full((1, N), MASK), MASK, steps, 2.0, gens(3))
        assert (out != MASK).all()
        assert len(seen) == min(steps, N)  # once every token is known, no more network calls
        assert seen[0] == N and all(a > b for a, b in zip(seen, seen[1:]))  # strictly fewer masks each round
    seen.clear()
    maskgit_sample(counting, torch.full((1, 1000), MASK), MASK, 4, 2.0, gens(3))
    assert seen == [1000, 923, 707, 382]  # N * cos(pi/2 * s/steps)


def test_zero_temperature_is_greedy_and_the_generator_fixes_the_result():
    logits = torch.randn(1, N, K)
    out = maskgit_sample(lambda ids: logits, torch.full((1, N), MASK), MASK, 4, 0.0, gens(0))
    assert torch.equal(out, logits.argmax(-1))
    a = maskgit_sample(random_logits, torch.full((1, N), MASK), MASK, 4, 2.0, gens(7))
    b = maskgit_sample(random_logits, torch.full((1, N), MASK), MASK, 4, 2.0, gens(7))
    assert torch.equal(a, b)


def test_a_world_gets_the_same_frame_alone_or_in_a_batch():
    logits = torch.randn(1, N, K)

    def same_logits(ids):
        return logits.expand(ids.shape[0], -1, -1)

    alone = maskgit_sample(same_logits, torch.full((1, N), MASK), MASK, 4, 2.0, gens(5))
    batch = maskgit_sample(same_logits, torch.full((2, N), MASK), MASK, 4, 2.0, gens(9, 5))
    assert torch.equal(batch[1], alone[0])
