using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Service.Models.Registry;
using Service.Models.Runtime;
using Service.Models.Serving;
using Service.Models.Text;

namespace Service.Api.Features.Models;

public static class ModelsRegistration
{
    /// <summary>The model registry with every served model, the background loader, and admission control.</summary>
    public static IHostApplicationBuilder AddModels(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<ModelsOptions>(ModelsOptions.Section);

        builder.Services.AddSingleton(services =>
        {
            var options = services.GetRequiredService<IOptions<ModelsOptions>>().Value;
            var device = new ExecutionDevice(options.Device, options.CudaDeviceId, options.IntraOpThreads, options.AllowSpinning);
            var limits = new BatchingLimits(options.MaxBatchTokens, options.MaxBatchSequences, options.QueueCapacity);
            var registry = new ModelRegistry(options.Default);
            var (descriptor, load) = SentenceEmbeddingModel.MiniLm(options.ResolvedCacheDirectory, device, limits);
            registry.Register(descriptor, load);
            TextAdapterModels.Register(registry, options, services.GetRequiredService<IHostEnvironment>().ContentRootPath, device, limits);
            foreach (var registration in services.GetServices<IModelRegistration>())
                registration.Register(registry);
            return registry;
        });
        builder.Services.AddHostedService<ModelLoader>();
        builder.Services.AddSingleton(services => new ModelPermits(services.GetRequiredService<IOptions<LimitsOptions>>().Value.MaxConcurrentInputs));
        builder.Services.AddSingleton<TextGateway>();
        return builder;
    }
}
