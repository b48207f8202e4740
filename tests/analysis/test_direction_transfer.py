"""A direction fitted in one model's latent space, carried by a fitted map, still edits in the other."""

import latentlab
from latentlab.analysis.map_evaluation import direction_transfer
from latentlab.analysis.support import support_set
from latentlab.analysis.workflow import find_direction


def test_glasses_direction_travels_from_gan_to_vae(tiny_models):
    gan, vae, clf = (latentlab.load(tiny_models[k]) for k in ("gan", "vae", "classifier"))
    in_gan = find_direction(gan, "glasses", classifier=clf, n=2000)
    in_vae = find_direction(vae, "glasses", labels_from="data", n=1500)
    pairs = support_set(gan, vae, source="generated", n=1000, seed=0)
    gan2vae = pairs.fit("ridge", alpha=1.0)
    effects = direction_transfer(vae, clf, gan2vae, in_gan.direction, direct_direction=in_vae.direction,
                                 attribute="glasses", n=256, step=3.0)
    row = effects.attributes.index("glasses")
    carried, direct, rand = (effects.matrix[row, effects.directions.index(k)] for k in ("carried", "direct", "random"))
    print("glasses change per unit step: carried", carried, "direct", direct, "random", rand, effects.flip_rate)
    assert carried > rand + 0.05
    assert effects.flip_rate["carried"] > effects.flip_rate["random"] + 0.2
