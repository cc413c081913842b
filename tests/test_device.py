import pytest
import torch

from genie_play import device as device_mod
from genie_play.device import autocast, describe_device, select_device
from genie_play.errors import GenieError


def test_auto_picks_cpu_on_a_machine_without_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_mod, "_mps_available", lambda: False)
    assert select_device("auto") == torch.device("cpu")


def test_auto_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_mod, "_mps_available", lambda: True)
    assert select_device("auto").type == "mps"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_auto_here_is_cpu_and_cuda_request_is_a_clear_error():
    assert select_device() == torch.device("cpu")
    with pytest.raises(GenieError, match=r"--device cuda: CUDA was requested but .*use --device cpu"):
        select_device("cuda")
    with pytest.raises(GenieError, match="CUDA was requested"):
        select_device("cuda:0")


def test_cuda_request_without_cuda_is_an_error_even_on_gpu_machines(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(GenieError, match="CUDA was requested"):
        select_device("CUDA")


def test_unknown_and_unavailable_devices(monkeypatch):
    with pytest.raises(GenieError, match="unknown device"):
        select_device("tpu")
    monkeypatch.setattr(device_mod, "_mps_available", lambda: False)
    with pytest.raises(GenieError, match="MPS was requested"):
        select_device("mps")


def test_describe_and_autocast_on_cpu():
    cpu = torch.device("cpu")
    n = torch.get_num_threads()
    assert describe_device(cpu) == f"cpu ({n} thread{'' if n == 1 else 's'})"
    with autocast(cpu):
        out = torch.ones(2, 2) @ torch.ones(2, 2)
    assert out.dtype == torch.float32  # CPU stays fp32


def test_play_leaves_the_window_a_core_for_background_work():
    from genie_play.device import play_threads

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert play_threads(cores=2) == (2, 1)  # a step the player waits for takes both; previews leave one
        assert play_threads(cores=1) == (2, 1)
        torch.set_num_threads(3)
        assert play_threads(cores=8) == (3, 3)  # never more than torch's own choice (OMP_NUM_THREADS)
        torch.set_num_threads(1)
        assert play_threads(cores=2) == (1, 1)
    finally:
        torch.set_num_threads(before)
