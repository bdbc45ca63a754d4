using Service.Api.Hosting;

ServiceApp.Create(args).Run();

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
