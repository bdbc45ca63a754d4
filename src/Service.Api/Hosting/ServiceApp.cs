using Service.Api.Errors;
using Service.Api.Features.Diagnostics;
using Service.Api.Features.Diffusion;
using Service.Api.Features.Embeddings;
using Service.Api.Features.Health;
using Service.Api.Features.Indexes;
using Service.Api.Features.Lm;
using Service.Api.Features.Models;
using Service.Api.Features.Rerank;
using Service.Api.Features.Search;
using Service.Api.Features.Similarity;
using Service.Api.OpenApi;

namespace Service.Api.Hosting;

/// <summary>Builds the service; shared by Program and by the CLI benchmark, which hosts it on loopback.</summary>
public static class ServiceApp
{
    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceLogging();
        builder.AddServiceErrors();
        builder.AddServiceTelemetry();
        builder.AddServiceAdmission();
        builder.AddServiceOpenApi();
        builder.AddModels();
        builder.AddDiffusion();
        builder.AddLm();
        builder.AddIndexes();
        builder.AddSearch();

        var app = builder.Build();
        app.UseServiceLogging();
        app.UseServiceErrors();
        app.UseServiceTelemetry();
        // The playground (wwwroot/index.html at /): static files answer before admission, so a page load spends no permits.
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseServiceAdmission();
        app.UseAdminKeys();
        app.UseServiceOpenApi();
        app.MapHealthEndpoints();
        app.MapModelsEndpoints();
        app.MapEmbeddingsEndpoints();
        app.MapSimilarityEndpoints();
        app.MapRerankEndpoints();
        app.MapDiffusionEndpoints();
        app.MapSearchEndpoints();
        app.MapIndexesEndpoints();
        app.MapDiagnosticsEndpoints();
        app.MapLmEndpoints();
        return app;
    }
}
