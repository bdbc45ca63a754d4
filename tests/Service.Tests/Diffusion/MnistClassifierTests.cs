using Service.Models.Torch;
using Service.Training.Diffusion.Evaluation;
using static TorchSharp.torch;

namespace Service.Tests.Diffusion;

/// <summary>The FID classifier's batched helpers give what one image at a time gives (an untrained, seeded network).</summary>
public sealed class MnistClassifierTests
{
    [Fact]
    public void Features_and_predictions_in_batches_equal_one_image_at_a_time()
    {
        TorchRuntime.EnsureInitialized();
        manual_seed(5);
        using var classifier = new MnistClassifier();
        classifier.eval();
        var random = new Random(3);
        var images = Enumerable.Range(0, 5 * 784).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

        var features = classifier.ExtractFeatures(images, batchSize: 2); // batches of 2, 2, 1
        var predicted = classifier.Predict(images, batchSize: 3);

        Assert.Equal(5 * MnistClassifier.FeatureDimension, features.Length);
        for (var i = 0; i < 5; i++)
        {
            var one = images.AsSpan(i * 784, 784);
            var alone = classifier.ExtractFeatures(one, batchSize: 1);
            for (var j = 0; j < alone.Length; j++)
                Assert.Equal(alone[j], features[i * MnistClassifier.FeatureDimension + j], 4);
            Assert.Equal(classifier.Predict(one)[0], predicted[i]);
        }
    }
}
