import torch

from genie_play.world.quantizer import VectorQuantizer


def test_ids_are_valid_and_vectors_are_their_codes():
    torch.manual_seed(0)
    vq = VectorQuantizer(num_codes=8, dim=4).eval()
    z = torch.randn(3, 5, 4)
    out = vq(z)
    assert out.ids.shape == (3, 5) and out.ids.dtype == torch.long
    assert out.ids.min() >= 0 and out.ids.max() < 8
    assert torch.allclose(out.quantized, vq.lookup(out.ids), atol=1e-6)
    assert out.loss > 0
    assert 1.0 <= out.perplexity <= 8.0 and 0 < out.usage <= 1


def test_straight_through_gradient_reaches_the_encoder_and_codes_learn():
    torch.manual_seed(0)
    vq = VectorQuantizer(num_codes=8, dim=4)
    z = torch.randn(16, 4, requires_grad=True)
    out = vq(z)
    (out.quantized * torch.randn(16, 4)).sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0  # flows through the non-differentiable argmin
    z.grad = None
    vq.codebook.grad = None
    vq(z).loss.backward()
    assert vq.codebook.grad.abs().sum() > 0 and z.grad.abs().sum() > 0  # codebook + commitment terms


def test_dead_codes_are_restarted_onto_encoder_outputs():
    torch.manual_seed(0)
    vq = VectorQuantizer(num_codes=16, dim=4, usage_decay=0.5).train()
    z = torch.randn(1, 4).repeat(64, 1) + 0.01 * torch.randn(64, 4)  # everything near one point
    before = vq.eval()(z).perplexity.item()
    vq.train()
    for _ in range(20):
        vq(z)
    # restarted codes now sit on the data, so more than one code gets used
    assert before < 1.2 and vq.eval()(z).perplexity > 1.5


def test_perplexity_reports_collapse():
    vq = VectorQuantizer(num_codes=8, dim=4).eval()
    same = vq.codebook.detach()[:1].repeat(32, 1)
    assert abs(vq(same).perplexity.item() - 1.0) < 1e-5
    assert abs(vq(vq.codebook.detach()).perplexity.item() - 8.0) < 1e-4


def test_fsq_ids_cover_the_grid_and_name_their_vectors():
    from genie_play.world.quantizer import FiniteScalarQuantizer

    fsq = FiniteScalarQuantizer((4, 3, 2))
    assert fsq.num_codes == 24 and fsq.dim == 3
    out = fsq(torch.randn(4000, 3) * 3)
    assert out.ids.min() == 0 and out.ids.max() == 23 and out.usage == 1.0  # every code reachable
    assert torch.allclose(out.quantized, fsq.lookup(out.ids), atol=1e-6)
    assert out.quantized.min() == -1 and out.quantized.max() == 1 and out.loss == 0
    every = torch.arange(24)
    assert torch.equal(fsq(torch.atanh(0.999 * fsq.lookup(every))).ids, every)  # lookup and ids agree


def test_fsq_gradient_passes_the_rounding():
    from genie_play.world.quantizer import FiniteScalarQuantizer

    z = torch.randn(16, 4, requires_grad=True)
    (FiniteScalarQuantizer((8, 5, 5, 5))(z).quantized * torch.randn(16, 4)).sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
