using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Service.Api.Hosting;
using YamlDotNet.RepresentationModel;

namespace Service.Tests.Deploy;

/// <summary>
/// deploy/k8s and deploy/Dockerfile, checked against each other and against the service itself (its routes, port,
/// options and writable paths), without a cluster or Docker: every YAML document is parsed with YamlDotNet, and every
/// Kubernetes object is also deserialised strictly into the KubernetesClient models (an unknown or misspelt field fails,
/// which is what kubeconform's strict mode would catch, minus value constraints).
/// </summary>
public sealed partial class ManifestTests
{
    static readonly string Root = FindRoot(AppContext.BaseDirectory);
    static readonly string K8sDirectory = Path.Combine(Root, "deploy", "k8s");
    static readonly Lazy<IReadOnlyList<Document>> AllDocuments = new(LoadDocuments);
    static readonly Lazy<Dockerfile> Image = new(() => Dockerfile.Parse(File.ReadAllText(Path.Combine(Root, "deploy", "Dockerfile"))));

    const string ImageName = "service";
    const string CliShards = "JOB_COMPLETION_INDEX";

    /// <summary>One YAML document of deploy/k8s; <see cref="Typed"/> is null for kustomization files.</summary>
    sealed record Document(string File, YamlMappingNode Yaml, object? Typed)
    {
        public string Kind => Yaml.Scalar("kind");
        public string Relative => Path.GetRelativePath(K8sDirectory, File).Replace('\\', '/');
    }

    // ------------------------------------------------------------------------------------------------ structure

    [Fact]
    public void Every_document_has_apiVersion_kind_and_a_valid_name()
    {
        var documents = AllDocuments.Value;
        Assert.True(documents.Count >= 12, $"only {documents.Count} YAML documents under deploy/k8s");
        foreach (var document in documents)
        {
            Assert.False(string.IsNullOrEmpty(document.Yaml.Scalar("apiVersion")), $"{document.Relative}: apiVersion");
            Assert.False(string.IsNullOrEmpty(document.Kind), $"{document.Relative}: kind");
            if (document.Kind == "Kustomization")
            {
                Assert.Equal("kustomize.config.k8s.io/v1beta1", document.Yaml.Scalar("apiVersion"));
                continue;
            }
            var name = document.Yaml.Scalar("metadata", "name");
            Assert.True(name.Length is > 0 and <= 63 && DnsLabel().IsMatch(name), $"{document.Relative}: metadata.name '{name}' is not a DNS-1123 label");
        }
        Assert.Contains(documents, d => d.Kind == "Deployment");
        Assert.Contains(documents, d => d.Kind == "Service");
        Assert.Contains(documents, d => d.Kind == "HorizontalPodAutoscaler");
        Assert.Contains(documents, d => d.Kind == "PodDisruptionBudget");
        Assert.Contains(documents, d => d.Kind == "PersistentVolumeClaim");
        Assert.Equal(2, documents.Count(d => d.Kind == "Job"));
    }

    [Fact]
    public void Every_object_matches_the_Kubernetes_API_schema_strictly()
    {
        foreach (var document in AllDocuments.Value.Where(d => d.Kind != "Kustomization"))
        {
            // LoadDocuments already deserialised it with strict: true; here: the right model type, and no unknown kind.
            Assert.NotNull(document.Typed);
            var typed = Assert.IsAssignableFrom<IKubernetesObject>(document.Typed);
            Assert.Equal(document.Kind, typed.Kind);
            Assert.Equal(document.Yaml.Scalar("apiVersion"), typed.ApiVersion);
        }
    }

    [Fact]
    public void Kustomizations_reference_existing_files_and_every_manifest_is_used_once()
    {
        var referenced = new List<string>();
        foreach (var kustomization in AllDocuments.Value.Where(d => d.Kind == "Kustomization"))
        {
            var directory = Path.GetDirectoryName(kustomization.File)!;
            foreach (var resource in kustomization.Yaml.Sequence("resources").Select(n => ((YamlScalarNode)n).Value!))
            {
                var path = Path.GetFullPath(Path.Combine(directory, resource));
                Assert.True(File.Exists(path) || File.Exists(Path.Combine(path, "kustomization.yaml")),
                    $"{kustomization.Relative}: resource '{resource}' is neither a file nor a kustomization folder");
                if (File.Exists(path))
                    referenced.Add(path);
            }
            foreach (var patch in kustomization.Yaml.Sequence("patches").Cast<YamlMappingNode>())
            {
                var path = Path.GetFullPath(Path.Combine(directory, patch.Scalar("path")));
                Assert.True(File.Exists(path), $"{kustomization.Relative}: patch '{patch.Scalar("path")}' does not exist");
                referenced.Add(path);
            }
            foreach (var generator in kustomization.Yaml.Sequence("configMapGenerator").Cast<YamlMappingNode>())
            {
                foreach (var file in generator.Sequence("files").Select(n => ((YamlScalarNode)n).Value!))
                    Assert.True(File.Exists(Path.Combine(directory, file)), $"{kustomization.Relative}: configMapGenerator file '{file}' does not exist");
            }
        }
        var manifests = AllDocuments.Value.Where(d => d.Kind != "Kustomization").Select(d => d.File).Distinct().ToList();
        foreach (var manifest in manifests)
            Assert.True(referenced.Count(r => r == manifest) == 1, $"{Path.GetRelativePath(K8sDirectory, manifest)} is referenced by {referenced.Count(r => r == manifest)} kustomizations, not one");
        Assert.Contains("base", Kustomization("kustomization.yaml").Yaml.Sequence("resources").Select(n => ((YamlScalarNode)n).Value));
        Assert.Contains("../base", Kustomization("gpu/kustomization.yaml").Yaml.Sequence("resources").Select(n => ((YamlScalarNode)n).Value));
    }

    [Fact]
    public void Selectors_select_the_service_pods_and_only_them()
    {
        var deployment = Deployment();
        var podLabels = deployment.Spec.Template.Metadata.Labels;
        AssertSubset(deployment.Spec.Selector.MatchLabels, podLabels, "Deployment selector vs its pod template");
        AssertSubset(Single<V1Service>().Spec.Selector, podLabels, "Service selector vs the Deployment's pods");
        AssertSubset(Single<V1PodDisruptionBudget>().Spec.Selector.MatchLabels, podLabels, "PodDisruptionBudget selector vs the Deployment's pods");
        foreach (var constraint in deployment.Spec.Template.Spec.TopologySpreadConstraints ?? [])
            AssertSubset(constraint.LabelSelector.MatchLabels, podLabels, "topologySpreadConstraints selector");

        var target = Single<V2HorizontalPodAutoscaler>().Spec.ScaleTargetRef;
        Assert.Equal(("apps/v1", "Deployment", deployment.Metadata.Name), (target.ApiVersion, target.Kind, target.Name));
        Assert.Equal("service-indexes", Single<V1PersistentVolumeClaim>().Metadata.Name);

        foreach (var job in Jobs())
        {
            Assert.NotEqual(true, job.Spec.ManualSelector);
            // The Service and the PDB must not pick up index-build pods.
            Assert.False(Single<V1Service>().Spec.Selector.All(s => job.Spec.Template.Metadata.Labels.TryGetValue(s.Key, out var v) && v == s.Value),
                $"the Service selects the pods of Job {job.Metadata.Name}");
        }
    }

    // ------------------------------------------------------------------------------------------------ port and probes

    [Fact]
    public void The_container_port_is_the_service_port_everywhere()
    {
        var port = AppPort();
        var container = ServiceContainer();
        var http = Assert.Single(container.Ports, p => p.Name == "http");
        Assert.Equal(port, http.ContainerPort);
        Assert.Equal("TCP", http.Protocol);
        Assert.Equal(port.ToString(), Env(container)["ASPNETCORE_HTTP_PORTS"]);
        Assert.Equal(new[] { port.ToString() }, Image.Value.Final.Expose);
        Assert.Equal(port.ToString(), Image.Value.Environment("cpu")["ASPNETCORE_HTTP_PORTS"]);
        var servicePort = Assert.Single(Single<V1Service>().Spec.Ports);
        Assert.Equal(port, ResolvePort(servicePort.TargetPort, container));
    }

    [Fact]
    public async Task Probes_use_the_services_health_routes_on_its_port()
    {
        var routes = await GetRoutesAsync();
        Assert.Contains("/healthz", routes);
        Assert.Contains("/readyz", routes);

        var container = ServiceContainer();
        var port = AppPort();
        foreach (var (name, probe, path) in new[]
                 {
                     ("startup", container.StartupProbe, "/healthz"),
                     ("liveness", container.LivenessProbe, "/healthz"),
                     ("readiness", container.ReadinessProbe, "/readyz"),
                 })
        {
            Assert.NotNull(probe);
            Assert.Equal(path, probe.HttpGet.Path);
            Assert.Contains(probe.HttpGet.Path, routes);
            Assert.Equal(port, ResolvePort(probe.HttpGet.Port, container));
            Assert.True((probe.TimeoutSeconds ?? 1) < (probe.PeriodSeconds ?? 10), $"{name} probe: timeout not below period");
        }
        // Start-up covers runtime start, libtorch load and option validation on a throttled CPU: at least two minutes.
        Assert.True((container.StartupProbe.PeriodSeconds ?? 10) * (container.StartupProbe.FailureThreshold ?? 3) >= 120,
            "the startup probe allows less than 120 s");
        // HEALTHCHECK (docker run / Compose only): the bash command deploy/local-check.sh ran against the published service.
        var healthcheck = JsonSerializer.Deserialize<string[]>(Image.Value.Final.Healthcheck[Image.Value.Final.Healthcheck.IndexOf("CMD [", StringComparison.Ordinal)..][4..])!;
        Assert.Equal("bash", healthcheck[0]);
        Assert.Contains("GET /healthz ", healthcheck[2]);
    }

    // ------------------------------------------------------------------------------------------------ resources, security, volumes

    [Fact]
    public void Resource_requests_do_not_exceed_limits()
    {
        foreach (var (owner, container) in AllContainers(includePatches: true))
        {
            var requests = container.Resources?.Requests ?? throw new Xunit.Sdk.XunitException($"{owner}/{container.Name}: no requests");
            var limits = container.Resources?.Limits ?? throw new Xunit.Sdk.XunitException($"{owner}/{container.Name}: no limits");
            foreach (var resource in new[] { "cpu", "memory" })
            {
                Assert.True(requests.ContainsKey(resource), $"{owner}/{container.Name}: no {resource} request");
                Assert.True(limits.ContainsKey(resource), $"{owner}/{container.Name}: no {resource} limit");
            }
            foreach (var (resource, request) in requests)
            {
                Assert.True(limits.TryGetValue(resource, out var limit), $"{owner}/{container.Name}: {resource} requested without a limit");
                Assert.True(request.ToDecimal() <= limit.ToDecimal(), $"{owner}/{container.Name}: {resource} request {request} > limit {limit}");
            }
        }
    }

    [Fact]
    public void Pods_run_as_the_images_non_root_user_read_only_without_capabilities()
    {
        var (uid, gid) = Image.Value.Final.User;
        Assert.NotEqual(0, uid);
        foreach (var (owner, pod) in PodTemplates())
        {
            var podSecurity = pod.SecurityContext ?? throw new Xunit.Sdk.XunitException($"{owner}: no pod securityContext");
            Assert.True(podSecurity.RunAsNonRoot, $"{owner}: runAsNonRoot");
            Assert.Equal(uid, podSecurity.RunAsUser);
            Assert.Equal(gid, podSecurity.RunAsGroup);
            Assert.Equal("RuntimeDefault", podSecurity.SeccompProfile?.Type);
            Assert.False(pod.AutomountServiceAccountToken ?? true, $"{owner}: the service account token is mounted");
            foreach (var container in pod.Containers.Concat(pod.InitContainers ?? []))
            {
                var security = container.SecurityContext ?? throw new Xunit.Sdk.XunitException($"{owner}/{container.Name}: no securityContext");
                Assert.True(security.ReadOnlyRootFilesystem, $"{owner}/{container.Name}: readOnlyRootFilesystem");
                Assert.False(security.AllowPrivilegeEscalation ?? true, $"{owner}/{container.Name}: allowPrivilegeEscalation");
                Assert.True(security.RunAsNonRoot ?? podSecurity.RunAsNonRoot, $"{owner}/{container.Name}: runAsNonRoot");
                Assert.Contains("ALL", security.Capabilities?.Drop ?? []);
                Assert.Empty(security.Capabilities?.Add ?? []);
                Assert.NotEqual(true, security.Privileged);
            }
        }
    }

    [Fact]
    public void Every_path_the_service_writes_is_on_a_writable_volume()
    {
        var image = Image.Value;
        var container = ServiceContainer();
        var pod = Deployment().Spec.Template.Spec;
        var env = Env(container);

        // Every VOLUME of the image is mounted in the Deployment, at exactly that path.
        foreach (var volume in image.Final.Volumes)
            Assert.Contains(container.VolumeMounts, m => m.MountPath == volume);

        // What the service writes: the model cache, the CLI's default data folder, temporary files.
        foreach (var key in new[] { "Models__CacheDirectory", "XDG_DATA_HOME", "TMPDIR" })
        {
            Assert.Equal(image.Environment("cpu")[key], env[key]);
            AssertOnVolume(pod, container, env[key], writable: true, $"Deployment {key}");
        }
        // The service only reads indexes (the index Jobs write them); the image declares the folder a volume.
        Assert.Equal(image.Environment("cpu")["Indexes__Directory"], env["Indexes__Directory"]);
        AssertOnVolume(pod, container, env["Indexes__Directory"], writable: false, "Deployment Indexes__Directory");
        Assert.Contains(env["Indexes__Directory"], image.Final.Volumes);

        // The ConfigMap's file lands in the content root (the WORKDIR) under the name ASP.NET Core reads for the environment.
        var config = Assert.Single(container.VolumeMounts, m => m.Name == pod.Volumes.Single(v => v.ConfigMap is not null).Name);
        Assert.Equal($"{image.Final.WorkDir}/appsettings.{env["ASPNETCORE_ENVIRONMENT"]}.json", config.MountPath);

        foreach (var job in Jobs())
        {
            var jobPod = job.Spec.Template.Spec;
            var jobEnv = JobEnvironment(job);
            foreach (var jobContainer in jobPod.Containers)
            {
                var values = Env(jobContainer, jobEnv);
                foreach (var key in new[] { "Models__CacheDirectory", "XDG_DATA_HOME", "TMPDIR", "INDEX_SHARD_DIR" })
                    AssertOnVolume(jobPod, jobContainer, values[key], writable: true, $"Job {job.Metadata.Name} {key}");
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ image

    [Fact]
    public void Images_are_the_same_everywhere_and_the_gpu_overlay_uses_the_gpu_tag()
    {
        var baseTag = ImageTag(Kustomization("base/kustomization.yaml"));
        Assert.Equal(baseTag, ImageTag(Kustomization("index/kustomization.yaml")));
        Assert.Equal(baseTag + "-gpu", ImageTag(Kustomization("gpu/kustomization.yaml")));
        foreach (var (owner, container) in AllContainers(includePatches: false))
            Assert.Equal($"{ImageName}:{baseTag}", container.Image);
        Assert.Contains("FLAVOR=gpu", File.ReadAllText(Path.Combine(Root, "deploy", "Dockerfile")));
    }

    [Fact]
    public void The_Dockerfile_publishes_the_service_and_the_cli_the_manifests_run()
    {
        var image = Image.Value;
        var build = image.Stage("build");
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:", image.ResolveArgs(build.From));
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:", image.ResolveArgs(image.Stage("aspnet").From));
        var publishes = build.Run.Where(r => r.Contains("dotnet publish")).SelectMany(r => r.Split("&&")).Where(c => c.Contains("dotnet publish")).Select(c => c.Trim()).ToList();
        Assert.Contains(publishes, c => c.StartsWith("dotnet publish src/Service.Api -c Release") && c.EndsWith("-o /app"));
        Assert.Contains(publishes, c => c.StartsWith("dotnet publish src/Service.Cli -c Release") && c.EndsWith("-o /app"));
        Assert.All(publishes, c => Assert.Contains("-p:OnnxRuntimeFlavor=", c));
        Assert.Contains("<OnnxRuntimeFlavor", File.ReadAllText(Path.Combine(Root, "Directory.Build.props")));

        Assert.Equal(new[] { "dotnet", $"/app/{typeof(ServiceApp).Assembly.GetName().Name}.dll" }, image.Final.Entrypoint);
        Assert.Equal("/app", image.Final.WorkDir);
        var cliAssembly = Regex.Match(File.ReadAllText(Path.Combine(Root, "src", "Service.Cli", "Service.Cli.csproj")), "<AssemblyName>([^<]+)</AssemblyName>").Groups[1].Value;
        Assert.Equal("service-cli", cliAssembly);
        foreach (var job in Jobs())
        {
            foreach (var container in job.Spec.Template.Spec.Containers)
                Assert.Contains($"/app/{cliAssembly}", string.Join(' ', (container.Command ?? []).Concat(container.Args ?? [])));
        }

        // The CPU flavour's Device matches the Deployment; the GPU flavour's the GPU overlay.
        Assert.Equal("cpu", image.Environment("cpu")["Models__Device"]);
        Assert.Equal(image.Environment("cpu")["Models__Device"], Env(ServiceContainer())["Models__Device"]);
        Assert.Equal("cuda", image.Environment("gpu")["Models__Device"]);
        // Every variable both the image and the Deployment set has one value.
        foreach (var (key, value) in Env(ServiceContainer()))
        {
            if (image.Environment("cpu").TryGetValue(key, out var imageValue))
                Assert.True(imageValue == value, $"{key}: Dockerfile '{imageValue}', Deployment '{value}'");
        }
    }

    [Fact]
    public void The_gpu_overlay_asks_for_one_gpu_and_cuda_and_the_gpu_image_has_the_cuda_major_the_package_needs()
    {
        var patch = AllDocuments.Value.Single(d => d.Relative == "gpu/deployment-gpu.yaml").Typed as V1Deployment
            ?? throw new Xunit.Sdk.XunitException("gpu/deployment-gpu.yaml is not a Deployment patch");
        Assert.Equal(Deployment().Metadata.Name, patch.Metadata.Name);
        var pod = patch.Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);
        Assert.Equal(ServiceContainer().Name, container.Name);
        Assert.Equal("cuda", Env(container)["Models__Device"]);
        Assert.Equal(1m, container.Resources.Limits["nvidia.com/gpu"].ToDecimal());
        Assert.Equal(1m, container.Resources.Requests["nvidia.com/gpu"].ToDecimal());
        Assert.NotEmpty(pod.NodeSelector);
        Assert.Contains(pod.Tolerations, t => t.Key == "nvidia.com/gpu" && t.Effect == "NoSchedule");

        var image = Image.Value;
        var cudaImage = image.ResolveArgs(image.Stage("runtime-gpu").From);
        var tag = Regex.Match(cudaImage, @"^nvidia/cuda:(\d+)\.\d+(\.\d+)?-cudnn-runtime-ubuntu24\.04$");
        Assert.True(tag.Success, $"runtime-gpu base '{cudaImage}' is not an nvidia/cuda cuDNN runtime image on Ubuntu 24.04");

        // The CUDA provider of the pinned Microsoft.ML.OnnxRuntime.Gpu links libcudart.so.<major>: the base image must
        // have that major. Checked where the package is in the NuGet cache (any machine that built the GPU flavour).
        var version = Regex.Match(File.ReadAllText(Path.Combine(Root, "Directory.Packages.props")),
            "Include=\"Microsoft.ML.OnnxRuntime.Gpu\" Version=\"([^\"]+)\"").Groups[1].Value;
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var provider = Path.Combine(packages, "microsoft.ml.onnxruntime.gpu.linux", version, "runtimes", "linux-x64", "native", "libonnxruntime_providers_cuda.so");
        if (File.Exists(provider))
            Assert.Equal(tag.Groups[1].Value, FindCudartMajor(provider));
    }

    [Fact]
    public void The_dockerignore_keeps_data_and_build_output_out_and_what_the_Dockerfile_copies_in()
    {
        var patterns = File.ReadAllLines(Path.Combine(Root, ".dockerignore"))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        foreach (var required in new[] { ".git", "data", "**/bin", "**/obj" })
            Assert.Contains(required, patterns);
        foreach (var source in Image.Value.Stages.SelectMany(s => s.CopySources))
        {
            foreach (var pattern in patterns.Where(p => !p.StartsWith('!') && !p.Contains('*')))
                Assert.False(source == pattern || source.StartsWith(pattern + "/"), $"COPY {source} is excluded by .dockerignore '{pattern}'");
            Assert.True(File.Exists(Path.Combine(Root, source)) || Directory.Exists(Path.Combine(Root, source)), $"COPY {source}: no such path");
        }
    }

    // ------------------------------------------------------------------------------------------------ options and index jobs

    [Fact]
    public void The_options_ConfigMap_binds_to_the_services_options_and_validates()
    {
        var appsettings = Path.Combine(Root, "src", "Service.Api", "appsettings.json");
        var production = Path.Combine(K8sDirectory, "base", "appsettings.Production.json");
        var env = Env(ServiceContainer()).ToDictionary(kv => kv.Key.Replace("__", ":"), kv => (string?)kv.Value);

        // No key the service does not know (a typo would be silently ignored at run time).
        var known = Keys(JsonDocument.Parse(File.ReadAllText(appsettings)).RootElement, "").ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var key in Keys(JsonDocument.Parse(File.ReadAllText(production)).RootElement, ""))
            Assert.True(known.Contains(key), $"appsettings.Production.json: '{key}' is not a key of src/Service.Api/appsettings.json");

        var configuration = new ConfigurationBuilder().AddJsonFile(appsettings).AddJsonFile(production).AddInMemoryCollection(env).Build();
        var sections = typeof(ServiceApp).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(ServiceApp).Namespace && t.GetField("Section", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true })
            .ToList();
        Assert.Contains(typeof(ModelsOptions), sections);
        foreach (var type in sections)
        {
            var section = (string)type.GetField("Section")!.GetRawConstantValue()!;
            var options = Activator.CreateInstance(type)!;
            configuration.GetSection(section).Bind(options);
            var results = new List<ValidationResult>();
            Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
            Assert.True(results.Count == 0, $"{section}: {string.Join("; ", results.Select(r => r.ErrorMessage))}");
        }

        // ONNX Runtime's pools are sized by Models:IntraOpThreads, not by the container's CPU limit: keep them within it.
        var models = configuration.GetSection(ModelsOptions.Section).Get<ModelsOptions>()!;
        var cpuLimit = ServiceContainer().Resources.Limits["cpu"].ToDecimal();
        Assert.InRange(models.IntraOpThreads, 1, (int)cpuLimit);
    }

    [Fact]
    public void The_index_Jobs_run_the_cli_index_commands_in_their_agreed_shapes()
    {
        var build = Jobs().Single(j => j.Metadata.Name == "service-index-build");
        var merge = Jobs().Single(j => j.Metadata.Name == "service-index-merge");
        var settings = JobEnvironment(build);
        Assert.Equal(settings, JobEnvironment(merge));

        // build: one item shard per completion index, i/N with N = completions.
        Assert.Equal("Indexed", build.Spec.CompletionMode);
        Assert.Equal("Never", build.Spec.Template.Spec.RestartPolicy);
        Assert.InRange(build.Spec.Parallelism ?? 1, 1, build.Spec.Completions ?? 1);
        Assert.Equal(build.Spec.Completions.ToString(), settings["INDEX_SHARDS"]);
        var buildContainer = Assert.Single(build.Spec.Template.Spec.Containers);
        var buildEnv = Env(buildContainer, settings);
        var script = string.Join('\n', buildContainer.Args).Replace("\\\n", " ");
        var command = Cli(script, "build", buildEnv);
        Assert.Equal(new[] { "--anchors", "--items", "--model", "--out", "--shard" }, command.Keys.Order());
        var shard = Regex.Match(command["--shard"], @"^\$(?:\{|\()?" + CliShards + @"(?:\}|\))?/(\S+)$");
        Assert.True(shard.Success, $"--shard '{command["--shard"]}' is not $JOB_COMPLETION_INDEX/N");
        Assert.Equal(build.Spec.Completions.ToString(), Expand(shard.Groups[1].Value, buildEnv));
        var shards = Expand(command["--out"], buildEnv);
        Assert.StartsWith("/var/lib/service/indexes/", shards);
        var crossEncoders = new ConfigurationBuilder().AddJsonFile(Path.Combine(Root, "src", "Service.Api", "appsettings.json")).Build()
            .GetSection(ModelsOptions.Section).Get<ModelsOptions>()!.Adapters.Where(a => a.Kind == "cross-encoder").Select(a => a.Name);
        Assert.Contains(Expand(command["--model"], buildEnv), crossEncoders);
        Assert.Matches(@"\.jsonl$", Expand(command["--items"], buildEnv));
        Assert.Matches(@"\.jsonl$", Expand(command["--anchors"], buildEnv));
        // The done mark comes after the build, in the folder the merge waits on.
        Assert.Matches(@"service-cli index build[\s\S]*touch ""\$INDEX_SHARD_DIR/\.done-\$JOB_COMPLETION_INDEX""", script);

        // merge: reads that folder, writes one index file where the service loads indexes from.
        var waiter = Assert.Single(merge.Spec.Template.Spec.InitContainers);
        Assert.Equal(shards, Env(waiter, settings)["INDEX_SHARD_DIR"]);
        Assert.Contains(".done-*", string.Join('\n', waiter.Args));
        var mergeContainer = Assert.Single(merge.Spec.Template.Spec.Containers);
        var mergeEnv = Env(mergeContainer, settings);
        var merged = Cli(string.Join(' ', mergeContainer.Command.Concat(mergeContainer.Args)), "merge", mergeEnv);
        Assert.Equal(new[] { "--out", "--shards" }, merged.Keys.Order());
        Assert.Equal(shards, Expand(merged["--shards"], mergeEnv));
        var indexFile = Expand(merged["--out"], mergeEnv);
        Assert.Equal(Env(ServiceContainer())["Indexes__Directory"], Path.GetDirectoryName(indexFile));
        var extension = typeof(ServiceApp).Assembly.GetType("Service.Api.Hosting.IndexesOptions")?.GetField("FileExtension")?.GetRawConstantValue() as string ?? ".anncur";
        Assert.Equal(extension, Path.GetExtension(indexFile));
        // Both Jobs and the Deployment share the claim.
        foreach (var pod in new[] { build, merge }.Select(j => j.Spec.Template.Spec).Append(Deployment().Spec.Template.Spec))
            Assert.Contains(pod.Volumes, v => v.PersistentVolumeClaim?.ClaimName == Single<V1PersistentVolumeClaim>().Metadata.Name);
        Assert.Contains("ReadWriteMany", Single<V1PersistentVolumeClaim>().Spec.AccessModes);
    }

    // ------------------------------------------------------------------------------------------------ helpers

    static string FindRoot(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Service.sln")))
                return directory.FullName;
        }
        throw new InvalidOperationException("Repository root (Service.sln) not found above the test binaries.");
    }

    static IReadOnlyList<Document> LoadDocuments()
    {
        var documents = new List<Document>();
        foreach (var file in Directory.EnumerateFiles(K8sDirectory, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var text = File.ReadAllText(file);
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            var yaml = stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
            Assert.True(yaml.Count == stream.Documents.Count, $"{file}: a document that is not a mapping");
            if (yaml.All(y => y.Scalar("kind") == "Kustomization"))
            {
                documents.AddRange(yaml.Select(y => new Document(file, y, null)));
                continue;
            }
            List<object> typed;
            try
            {
                typed = KubernetesYaml.LoadAllFromString(text, strict: true);
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"{Path.GetRelativePath(K8sDirectory, file)} does not match the Kubernetes API: {e.Message}");
            }
            Assert.Equal(yaml.Count, typed.Count);
            documents.AddRange(yaml.Zip(typed, (y, t) => new Document(file, y, t)));
        }
        return documents;
    }

    static Document Kustomization(string relative) => AllDocuments.Value.Single(d => d.Kind == "Kustomization" && d.Relative == relative);

    static string ImageTag(Document kustomization) =>
        kustomization.Yaml.Sequence("images").Cast<YamlMappingNode>().Single(i => i.Scalar("name") == ImageName).Scalar("newTag");

    static HashSet<string> PatchFiles() => AllDocuments.Value.Where(d => d.Kind == "Kustomization")
        .SelectMany(k => k.Yaml.Sequence("patches").Cast<YamlMappingNode>().Select(p => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(k.File)!, p.Scalar("path")))))
        .ToHashSet();

    /// <summary>The one object of type <typeparamref name="T"/> that is not a patch.</summary>
    static T Single<T>() => Assert.Single(Objects<T>());

    static IEnumerable<T> Objects<T>()
    {
        var patches = PatchFiles();
        return AllDocuments.Value.Where(d => !patches.Contains(d.File)).Select(d => d.Typed).OfType<T>();
    }

    static V1Deployment Deployment() => Single<V1Deployment>();

    static V1Container ServiceContainer() => Assert.Single(Deployment().Spec.Template.Spec.Containers);

    static IEnumerable<V1Job> Jobs() => Objects<V1Job>();

    static IEnumerable<(string Owner, V1PodSpec Pod)> PodTemplates() =>
        Objects<V1Deployment>().Select(d => ($"Deployment {d.Metadata.Name}", d.Spec.Template.Spec))
            .Concat(Jobs().Select(j => ($"Job {j.Metadata.Name}", j.Spec.Template.Spec)));

    static IEnumerable<(string Owner, V1Container Container)> AllContainers(bool includePatches)
    {
        var documents = includePatches ? AllDocuments.Value.Select(d => d.Typed) : Objects<object>();
        foreach (var typed in documents)
        {
            var (owner, pod) = typed switch
            {
                V1Deployment d => ($"Deployment {d.Metadata.Name}", d.Spec?.Template?.Spec),
                V1Job j => ($"Job {j.Metadata.Name}", j.Spec?.Template?.Spec),
                _ => ("", null),
            };
            if (pod is null)
                continue;
            foreach (var container in pod.Containers.Concat(pod.InitContainers ?? []))
                yield return (owner, container);
        }
    }

    /// <summary>A container's variables: literal values, with $(VAR) expanded from <paramref name="from"/> (envFrom) and earlier entries.</summary>
    static Dictionary<string, string> Env(V1Container container, IReadOnlyDictionary<string, string>? from = null)
    {
        var values = new Dictionary<string, string>(from ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        foreach (var variable in container.Env ?? [])
        {
            if (variable.Value is not null)
                values[variable.Name] = KubernetesExpansion().Replace(variable.Value, m => values.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);
        }
        return values;
    }

    /// <summary>The literals of the generated ConfigMap a Job's containers take with envFrom (index/kustomization.yaml).</summary>
    static Dictionary<string, string> JobEnvironment(V1Job job)
    {
        var names = job.Spec.Template.Spec.Containers.Concat(job.Spec.Template.Spec.InitContainers ?? [])
            .SelectMany(c => c.EnvFrom ?? []).Select(e => e.ConfigMapRef?.Name).Distinct().ToList();
        var name = Assert.Single(names);
        var generator = AllDocuments.Value.Where(d => d.Kind == "Kustomization")
            .SelectMany(k => k.Yaml.Sequence("configMapGenerator").Cast<YamlMappingNode>())
            .Single(g => g.Scalar("name") == name);
        return generator.Sequence("literals").Select(n => ((YamlScalarNode)n).Value!.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
    }

    /// <summary>Expands $VAR, ${VAR} and $(VAR) from <paramref name="env"/>; fails on an unknown one.</summary>
    static string Expand(string value, IReadOnlyDictionary<string, string> env) =>
        ShellOrKubernetesVariable().Replace(value.Trim('"'), m =>
        {
            var name = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value;
            return env.TryGetValue(name, out var v) ? v : throw new Xunit.Sdk.XunitException($"'{value}': {name} is not set");
        });

    /// <summary>The flags of the one `service-cli index VERB ...` command line in <paramref name="script"/>.</summary>
    static Dictionary<string, string> Cli(string script, string verb, IReadOnlyDictionary<string, string> env)
    {
        var line = Assert.Single(script.Split('\n'), l => l.Contains($" index {verb} "));
        var tokens = Regex.Split(line.Trim(), @"\s+");
        Assert.Matches(@"(^|/)service-cli$", tokens[0]);
        Assert.Equal(new[] { "index", verb }, tokens[1..3]);
        Assert.True((tokens.Length - 3) % 2 == 0, $"'{line}': a flag without a value");
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 3; i < tokens.Length; i += 2)
        {
            Assert.StartsWith("--", tokens[i]);
            Assert.True(flags.TryAdd(tokens[i], tokens[i + 1].Trim('"')), $"'{line}': {tokens[i]} twice");
            Expand(tokens[i + 1].Trim('"').Replace("$" + CliShards, "0").Replace("${" + CliShards + "}", "0").Replace("$(" + CliShards + ")", "0"), env);
        }
        return flags;
    }

    static int AppPort()
    {
        using var launch = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "src", "Service.Api", "Properties", "launchSettings.json")));
        var url = launch.RootElement.GetProperty("profiles").EnumerateObject().First().Value.GetProperty("applicationUrl").GetString()!;
        return new Uri(url.Split(';')[0]).Port;
    }

    static int ResolvePort(IntOrString port, V1Container container) =>
        int.TryParse(port.Value, out var number) ? number : Assert.Single(container.Ports, p => p.Name == port.Value).ContainerPort;

    static void AssertSubset(IDictionary<string, string> selector, IDictionary<string, string> labels, string what)
    {
        Assert.True(selector is { Count: > 0 }, $"{what}: empty selector");
        foreach (var (key, value) in selector)
            Assert.True(labels.TryGetValue(key, out var label) && label == value, $"{what}: {key}={value} is not a label of the pods");
    }

    static void AssertOnVolume(V1PodSpec pod, V1Container container, string path, bool writable, string what)
    {
        var mount = container.VolumeMounts?
            .Where(m => path == m.MountPath || path.StartsWith(m.MountPath.TrimEnd('/') + "/", StringComparison.Ordinal))
            .MaxBy(m => m.MountPath.Length)
            ?? throw new Xunit.Sdk.XunitException($"{what} ({path}) is on no volume: the root filesystem is read-only");
        var volume = pod.Volumes.Single(v => v.Name == mount.Name);
        if (writable)
        {
            Assert.False(mount.ReadOnlyProperty ?? false, $"{what} ({path}) is on a read-only mount");
            Assert.True(volume.EmptyDir is not null || volume.PersistentVolumeClaim is { ReadOnlyProperty: not true }, $"{what} ({path}) is on volume {volume.Name}, which cannot be written");
        }
    }

    static async Task<HashSet<string>> GetRoutesAsync()
    {
        // The service's own route table, as built by Program (nothing is started or loaded).
        await using var app = ServiceApp.Create(["--Serilog:MinimumLevel:Default", "Warning"]);
        return ((IEndpointRouteBuilder)app).DataSources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.Contains("GET") == true)
            .Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/'))
            .ToHashSet(StringComparer.Ordinal);
    }

    static IEnumerable<string> Keys(JsonElement element, string prefix)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            yield return prefix;
            yield break;
        }
        foreach (var property in element.EnumerateObject())
        {
            foreach (var key in Keys(property.Value, prefix.Length == 0 ? property.Name : $"{prefix}:{property.Name}"))
                yield return key;
        }
    }

    /// <summary>The N of the libcudart.so.N a shared library names (its DT_NEEDED strings), read without an ELF parser.</summary>
    static string FindCudartMajor(string path)
    {
        var needle = Encoding.ASCII.GetBytes("libcudart.so.");
        using var stream = File.OpenRead(path);
        var buffer = new byte[1 << 20];
        var carry = 0;
        int read;
        while ((read = stream.Read(buffer, carry, buffer.Length - carry)) > 0)
        {
            var length = carry + read;
            var at = buffer.AsSpan(0, length).IndexOf(needle);
            if (at >= 0 && at + needle.Length + 4 <= length)
            {
                var digits = buffer.AsSpan(at + needle.Length, 4);
                var count = 0;
                while (count < digits.Length && char.IsAsciiDigit((char)digits[count]))
                    count++;
                return Encoding.ASCII.GetString(digits[..count]);
            }
            carry = Math.Min(length, needle.Length + 4);
            Array.Copy(buffer, length - carry, buffer, 0, carry);
        }
        throw new Xunit.Sdk.XunitException($"{path} names no libcudart.so");
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex KubernetesExpansion();

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex ShellOrKubernetesVariable();

    /// <summary>The instructions of deploy/Dockerfile that the manifests must agree with.</summary>
    sealed class Dockerfile
    {
        public required Dictionary<string, string> Args { get; init; }
        public required List<Stage> Stages { get; init; }
        public Stage Final => Stages[^1];

        public Stage Stage(string name) => Stages.Single(s => s.Name == name);

        public string ResolveArgs(string value, string flavor = "cpu") => Regex.Replace(value, @"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?",
            m => m.Groups[1].Value == "FLAVOR" ? flavor : Args[m.Groups[1].Value]);

        /// <summary>The ENV the final image has for FLAVOR=<paramref name="flavor"/> (the final stage over its base stages).</summary>
        public Dictionary<string, string> Environment(string flavor)
        {
            var chain = new List<Stage>();
            for (var stage = Final; stage is not null; stage = Stages.FirstOrDefault(s => s.Name == ResolveArgs(stage.From, flavor)))
                chain.Insert(0, stage);
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in chain.SelectMany(s => s.Env))
                env[key] = value;
            return env;
        }

        public static Dockerfile Parse(string text)
        {
            var args = new Dictionary<string, string>(StringComparer.Ordinal);
            var stages = new List<Stage>();
            foreach (var (keyword, rest) in Instructions(text))
            {
                if (keyword == "FROM")
                {
                    var parts = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    stages.Add(new Stage(parts[0], parts.Length == 3 && parts[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? parts[2] : ""));
                    continue;
                }
                if (stages.Count == 0)
                {
                    if (keyword == "ARG" && rest.Split('=', 2) is [var name, var value])
                        args[name] = value;
                    continue;
                }
                var current = stages[^1];
                switch (keyword)
                {
                    case "ENV":
                        foreach (Match pair in Regex.Matches(rest, @"([A-Za-z_][A-Za-z0-9_]*)=(""[^""]*""|\S*)"))
                            current.Env.Add((pair.Groups[1].Value, pair.Groups[2].Value.Trim('"')));
                        break;
                    case "RUN": current.Run.Add(rest); break;
                    case "USER": current.UserText = rest; break;
                    case "WORKDIR": current.WorkDir = rest; break;
                    case "EXPOSE": current.Expose.AddRange(rest.Split(' ', StringSplitOptions.RemoveEmptyEntries)); break;
                    case "VOLUME": current.Volumes.AddRange(JsonSerializer.Deserialize<string[]>(rest)!); break;
                    case "ENTRYPOINT": current.Entrypoint = JsonSerializer.Deserialize<string[]>(rest)!; break;
                    case "HEALTHCHECK": current.Healthcheck = rest; break;
                    case "COPY":
                        var words = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                        if (!words.Any(w => w.StartsWith("--from=")))
                            current.CopySources.AddRange(words.Where(w => !w.StartsWith("--")).SkipLast(1).Select(w => w.TrimEnd('/')));
                        break;
                }
            }
            return new Dockerfile { Args = args, Stages = stages };
        }

        static IEnumerable<(string Keyword, string Argument)> Instructions(string text)
        {
            var logical = new StringBuilder();
            foreach (var raw in text.Split('\n'))
            {
                var line = raw.TrimEnd('\r');
                if (line.TrimStart().StartsWith('#'))
                    continue;
                if (line.EndsWith('\\'))
                {
                    logical.Append(line[..^1]).Append(' ');
                    continue;
                }
                logical.Append(line);
                var instruction = Regex.Replace(logical.ToString().Trim(), @"\s+", " ");
                logical.Clear();
                if (instruction.Length == 0)
                    continue;
                var space = instruction.IndexOf(' ');
                yield return space < 0 ? (instruction.ToUpperInvariant(), "") : (instruction[..space].ToUpperInvariant(), instruction[(space + 1)..]);
            }
        }
    }

    sealed class Stage(string from, string name)
    {
        public string From { get; } = from;
        public string Name { get; } = name;
        public List<(string Key, string Value)> Env { get; } = [];
        public List<string> Run { get; } = [];
        public List<string> Expose { get; } = [];
        public List<string> Volumes { get; } = [];
        public List<string> CopySources { get; } = [];
        public string[] Entrypoint { get; set; } = [];
        public string Healthcheck { get; set; } = "";
        public string WorkDir { get; set; } = "";
        public string UserText { get; set; } = "";

        public (long Uid, long Gid) User => UserText.Split(':') is [var uid, var gid]
            ? (long.Parse(uid), long.Parse(gid))
            : throw new Xunit.Sdk.XunitException($"USER '{UserText}' is not numeric UID:GID (Kubernetes can verify runAsNonRoot only for a numeric user)");
    }
}

static class YamlExtensions
{
    /// <summary>The scalar at <paramref name="path"/>, or "" when it is missing.</summary>
    public static string Scalar(this YamlMappingNode node, params string[] path)
    {
        YamlNode current = node;
        foreach (var key in path)
        {
            if (current is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out var next))
                return "";
            current = next;
        }
        return (current as YamlScalarNode)?.Value ?? "";
    }

    /// <summary>The sequence under <paramref name="key"/>, or none.</summary>
    public static IEnumerable<YamlNode> Sequence(this YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlSequenceNode sequence ? sequence.Children : [];
}
