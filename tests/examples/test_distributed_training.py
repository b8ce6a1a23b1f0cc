import pytest
import torch
from example_support import assert_fits_on_card, load_example

ddp = load_example("distributed_training")


def test_region_fits_on_a_card():
    assert_fits_on_card("distributed_training.py", "ddp-training")


@pytest.mark.slow
def test_ddp_replicas_match_each_other_and_single_process_training(tmp_path):
    rank0, rank1 = ddp.launch(tmp_path, world_size=2, epochs=3, global_batch=32)
    reference = ddp.train_single_process(epochs=3, global_batch=32).state_dict()

    initial = ddp.make_model().state_dict()
    assert rank0.keys() == rank1.keys() == reference.keys()
    for name in reference:
        assert torch.equal(rank0[name], rank1[name]), f"replicas diverged at {name}"
        torch.testing.assert_close(rank0[name], reference[name], rtol=1e-5, atol=1e-6)
        assert not torch.equal(rank0[name], initial[name]), f"{name} was never updated"
