using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Service.Api.Errors;
using Service.Api.Features.Embeddings;
using Service.Api.Features.Indexes;
using Service.Api.Features.Shared;
using Service.Api.Hosting;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Service.Api.OpenApi;

/// <summary>A request type that shows a ready-to-send example in the Swagger UI.</summary>
public interface IExampleProvider
{
    static abstract object Example { get; }
}

public static class OpenApiExtensions
{
    const string AdminKeyScheme = "AdminKey";

    public static IHostApplicationBuilder AddServiceOpenApi(this IHostApplicationBuilder builder)
    {
        builder.Services.ConfigureHttpJsonOptions(options =>
            options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        builder.Services.AddEndpointsApiExplorer();
        builder.Services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Inference and retrieval service",
                Version = "v1",
                Description = "Three capabilities: **sentence embeddings, similarity and cross-encoder reranking** (all-MiniLM-L6-v2 on ONNX Runtime); " +
                    "**cross-encoder search accelerated by CUR** (ANNCUR and ADACUR over anchor indexes); and **diffusion sampling** with the optimal " +
                    "reverse variances of Analytic-DPM and NPR-/SN-DPM. Beside them, **diagnostics** measure sparsity, and when a trained causal LM " +
                    "is configured it classifies in context past its window with NBCE and reports its attention rank. Every request below has a ready-to-send example. " +
                    "The playground is at [/](/). " +
                    "Errors are RFC 9457 problem details.",
            });
            options.IncludeXmlComments(typeof(OpenApiExtensions).Assembly);
            options.SupportNonNullableReferenceTypes();
            options.SchemaFilter<ExampleSchemaFilter>();
            options.AddSecurityDefinition(AdminKeyScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = AdminOptions.KeyHeader,
                Description = "One of the admin keys of Admin:ApiKeys; the /v1/indexes routes need it.",
            });
            options.OperationFilter<AdminKeyOperationFilter>();
            options.OperationFilter<AdmissionProblemsOperationFilter>();
            options.OperationFilter<PathExampleOperationFilter>();
            options.MapType<TextInputs>(() => new OpenApiSchema
            {
                OneOf =
                [
                    new OpenApiSchema { Type = JsonSchemaType.String },
                    new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
                ],
            });
            options.MapType<EmbeddingVector>(() => new OpenApiSchema
            {
                OneOf =
                [
                    new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.Number, Format = "float" } },
                    new OpenApiSchema { Type = JsonSchemaType.String, Format = "byte", Description = "base64 of little-endian float32" },
                ],
            });
        });
        return builder;
    }

    public static WebApplication UseServiceOpenApi(this WebApplication app)
    {
        app.UseSwagger();
        app.UseSwaggerUI(options =>
        {
            options.SwaggerEndpoint("/swagger/v1/swagger.json", "Service v1");
            options.DocumentTitle = "Inference and retrieval service";
            options.EnableDeepLinking();
        });
        return app;
    }

    /// <summary>Fills a schema's example from the type's <see cref="IExampleProvider.Example"/>, serialised as the API does.</summary>
    sealed class ExampleSchemaFilter(IOptions<JsonOptions> json) : ISchemaFilter
    {
        public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
        {
            if (schema is not OpenApiSchema concrete || !typeof(IExampleProvider).IsAssignableFrom(context.Type))
                return;
            var example = context.Type.GetProperty(nameof(IExampleProvider.Example), BindingFlags.Public | BindingFlags.Static)!.GetValue(null);
            concrete.Examples = [JsonSerializer.SerializeToNode(example, context.Type, json.Value.SerializerOptions)!];
        }
    }

    /// <summary>Marks the admin routes (<see cref="AdminOnly"/>) as needing the key, so the Swagger UI sends it.</summary>
    sealed class AdminKeyOperationFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<AdminOnly>().Any())
                operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(AdminKeyScheme, context.Document)] = [] }];
        }
    }

    /// <summary>Fills each path parameter's example from the route's <see cref="PathExample"/> metadata.</summary>
    sealed class PathExampleOperationFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            foreach (var example in context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<PathExample>())
            {
                var parameter = operation.Parameters?.OfType<OpenApiParameter>().SingleOrDefault(p => p.In == ParameterLocation.Path && p.Name == example.Parameter)
                    ?? throw new InvalidOperationException($"{context.ApiDescription.RelativePath} has no path parameter '{example.Parameter}' to give an example.");
                parameter.Example = JsonValue.Create(example.Value);
            }
        }
    }

    /// <summary>
    /// Adds the admission problems (<see cref="ProblemTable.AdmissionErrors"/>: rate limit, time limit), which every route but
    /// the probes can return, with their statuses from the one error table.
    /// </summary>
    sealed class AdmissionProblemsOperationFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (TelemetryExtensions.IsProbeOrScrape(new PathString("/" + context.ApiDescription.RelativePath)))
                return;
            operation.Responses ??= [];
            foreach (var kind in ProblemTable.AdmissionErrors.Select(ProblemTable.For))
            {
                operation.Responses.TryAdd(kind.Status.ToString(), new OpenApiResponse
                {
                    Description = kind.Title,
                    Content = new Dictionary<string, IOpenApiMediaType>
                    {
                        ["application/problem+json"] = new OpenApiMediaType { Schema = context.SchemaGenerator.GenerateSchema(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), context.SchemaRepository) },
                    },
                });
            }
        }
    }
}
