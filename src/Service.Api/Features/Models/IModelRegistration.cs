using Service.Models.Registry;

namespace Service.Api.Features.Models;

/// <summary>Adds a feature's models to the registry when it is built; features register one each.</summary>
public interface IModelRegistration
{
    void Register(ModelRegistry registry);
}
