using Service.Api.Hosting;
using Service.Models.Registry;
using Service.Models.Runtime;
using Service.Models.Serving;
using Service.Models.Text;
using Service.Models.Text.Adapters;

namespace Service.Api.Features.Models;

/// <summary>
/// The Models:Adapters entries: each a fine-tuned all-MiniLM-L6-v2 registered under its own name, bi-encoders as
/// embedding models and cross-encoders for /rerank. Each loads on its own; a missing or invalid file fails only that
/// model, with a reason that names the file as configured (never the resolved absolute path).
/// </summary>
internal static class TextAdapterModels
{
    public static void Register(ModelRegistry registry, ModelsOptions options, string contentRoot, ExecutionDevice device, BatchingLimits limits)
    {
        foreach (var adapter in options.Adapters)
        {
            if (adapter.Kind == TextAdapter.BiEncoder)
            {
                var (descriptor, load) = SentenceEmbeddingModel.MiniLmAdapter(adapter.Name, options.ResolvedCacheDirectory, device, limits);
                registry.Register(descriptor, () => Load(adapter, contentRoot, load));
            }
            else
            {
                var (descriptor, load) = CrossEncoderModel.MiniLmAdapter(adapter.Name, options.ResolvedCacheDirectory, device, limits);
                registry.Register(descriptor, () => Load(adapter, contentRoot, load));
            }
        }
    }

    static T Load<T>(AdapterOptions adapter, string contentRoot, Func<string, T> load)
    {
        var path = AppFiles.Find(adapter.Path, contentRoot)
            ?? throw new FileNotFoundException($"Adapter file '{adapter.Path}' of model '{adapter.Name}' was not found (looked in the content root and beside the app).");
        try
        {
            return load(path);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"Adapter file '{adapter.Path}' of model '{adapter.Name}' is not usable: {e.Message}", e);
        }
    }
}
