using Microsoft.Extensions.Options;
using Service.Api.Features.Models;
using Service.Api.Hosting;
using Service.Models.Diffusion;
using Service.Models.Diffusion.Serving;
using Service.Models.Registry;
using Service.Models.Runtime;

namespace Service.Api.Features.Diffusion;

public static class DiffusionRegistration
{
    /// <summary>Registers the diffusion models with the model registry (call after <c>AddModels</c>).</summary>
    public static IHostApplicationBuilder AddDiffusion(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<DiffusionOptions>(DiffusionOptions.Section);
        builder.Services.AddSingleton<IModelRegistration>(services =>
            new ReferenceDiffusionModels(services.GetRequiredService<IOptions<DiffusionOptions>>().Value));
        builder.Services.AddSingleton<IModelRegistration>(services =>
            new UnetDiffusionModels(services.GetRequiredService<IOptions<DiffusionOptions>>().Value));
        return builder;
    }

    /// <summary>The closed-form models (gmm-2d, gauss-64), with their exact SN and NPR heads.</summary>
    sealed class ReferenceDiffusionModels(DiffusionOptions options) : IModelRegistration
    {
        public void Register(ModelRegistry registry)
        {
            foreach (var name in ReferenceModels.Names)
            {
                var backbone = ReferenceModels.Create(name);
                var descriptor = new ModelDescriptor(name, DiffusionModel.Kind, backbone.Dimension, 0, ExecutionDevice.Cpu);
                registry.Register(descriptor, () =>
                {
                    var random = new Random(20220101);
                    var gamma = GammaEstimator.Estimate(backbone, backbone.Sample(random, options.ReferenceGammaSamples), random);
                    var networks = new Dictionary<CovarianceHead, IEpsilonModel>
                    {
                        [CovarianceHead.None] = backbone,
                        [CovarianceHead.Sn] = backbone.WithHead(CovarianceHead.Sn),
                        [CovarianceHead.Npr] = backbone.WithHead(CovarianceHead.Npr),
                    };
                    return new DiffusionModel(descriptor, networks, gamma, imageShape: null, options.QueueCapacity);
                });
            }
        }
    }
}
