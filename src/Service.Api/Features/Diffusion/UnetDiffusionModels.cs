using Service.Api.Features.Models;
using Service.Api.Hosting;
using Service.Models.Diffusion;
using Service.Models.Diffusion.Serving;
using Service.Models.Diffusion.Unet;
using Service.Models.Registry;
using Service.Models.Runtime;

namespace Service.Api.Features.Diffusion;

/// <summary>
/// Trained UNets under Diffusion:ModelDirectory, one folder each (unet.pt + sidecar, gamma.json, and optionally
/// head-sn.pt / head-npr.pt). Each loads on its own; a folder without weights is not registered.
/// </summary>
internal sealed class UnetDiffusionModels(DiffusionOptions options) : IModelRegistration
{
    const string Backbone = "unet.pt";

    public void Register(ModelRegistry registry)
    {
        var root = options.ResolvedModelDirectory;
        if (!Directory.Exists(root))
            return;
        foreach (var folder in Directory.GetDirectories(root).Where(f => File.Exists(Path.Combine(f, Backbone))).Order())
        {
            var name = Path.GetFileName(folder);
            var descriptor = new ModelDescriptor(name, DiffusionModel.Kind, UnetSidecar.Read(Path.Combine(folder, Backbone)).Config.Dimension, 0, ExecutionDevice.Cpu);
            registry.Register(descriptor, () => Load(descriptor, folder));
        }
    }

    DiffusionModel Load(ModelDescriptor descriptor, string folder)
    {
        var gamma = GammaTable.Read(folder).Gamma;
        var backbonePath = Path.Combine(folder, Backbone);
        var networks = new Dictionary<CovarianceHead, IEpsilonModel>();
        var owned = new List<UnetEpsilonModel>();
        try
        {
            networks[CovarianceHead.None] = Track(UnetEpsilonModel.Load(backbonePath));
            foreach (var (head, file) in new[] { (CovarianceHead.Sn, "head-sn.pt"), (CovarianceHead.Npr, "head-npr.pt") })
            {
                if (File.Exists(Path.Combine(folder, file)))
                    networks[head] = Track(UnetEpsilonModel.Load(backbonePath, Path.Combine(folder, file)));
            }
        }
        catch
        {
            owned.ForEach(model => model.Dispose());
            throw;
        }
        var side = (int)Math.Sqrt(networks[CovarianceHead.None].Dimension);
        return new DiffusionModel(descriptor, networks, gamma, (side, side), options.QueueCapacity, new Owned(owned));

        UnetEpsilonModel Track(UnetEpsilonModel model)
        {
            owned.Add(model);
            return model;
        }
    }

    sealed class Owned(List<UnetEpsilonModel> models) : IDisposable
    {
        public void Dispose() => models.ForEach(model => model.Dispose());
    }
}
